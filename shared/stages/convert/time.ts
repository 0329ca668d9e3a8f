/**
 * The item's time as the email writes it: ISO 8601 in UTC with milliseconds,
 * the form validation already gives, so an item in that form is read without a
 * Date (parsing one and writing it back cost more than the rest of the
 * headers).
 */

// YYYY-MM-DDTHH:MM:SS.mmmZ, what Date#toISOString writes for years 0000-9999.
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The instant `timestamp` names, as `YYYY-MM-DDTHH:MM:SS.mmmZ`; RangeError when it names none. */
export function utcTimestamp(timestamp: string): string {
  if (ISO_UTC.test(timestamp) && isCalendarTime(timestamp)) return timestamp;
  const instant = new Date(timestamp);
  if (Number.isNaN(instant.getTime())) throw new RangeError('the item timestamp is not an ISO 8601 instant');
  return instant.toISOString();
}

/** True when the fields of an ISO_UTC string name a real time (no 30 February, no hour 24), so Date would write it back unchanged. */
function isCalendarTime(iso: string): boolean {
  const year = digits(iso, 0, 4);
  const month = digits(iso, 5, 2);
  const day = digits(iso, 8, 2);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  return day <= daysInMonth && digits(iso, 11, 2) <= 23 && digits(iso, 14, 2) <= 59 && digits(iso, 17, 2) <= 59;
}

function digits(text: string, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) value = value * 10 + text.charCodeAt(i) - 48;
  return value;
}

/** The call summary's local time: `Wed, 25 Nov 2026, 15:20:00 GMT`. */
export const ZONE_TIME_OPTIONS: Intl.DateTimeFormatOptions = {
  weekday: 'short',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
  timeZoneName: 'short',
};
export const ZONE_TIME_LOCALE = 'en-GB';
const DAY_IN_MS = 86_400_000;
const HOUR_IN_MS = 3_600_000;
/** UTC days kept per zone (a run covers one or two). */
const DAYS_KEPT = 64;

/** A zone's offset and name through one UTC day in which its clocks do not change. */
interface SteadyDay {
  offsetInMs: number;
  zoneName: string;
}

/**
 * Writes instants in one IANA zone exactly as Intl.DateTimeFormat would with
 * ZONE_TIME_OPTIONS, without asking Intl for each. Intl costs a few
 * microseconds a call (tens in the convert loop, where ICU's code is cold),
 * yet through a UTC day a zone's offset and name hold, except on the few days
 * its clocks change. So the offset is read from Intl once per UTC day (every
 * hour of it, so a change anywhere in the day is seen), the day's text is
 * checked against Intl's at both ends of the day (every local date the day
 * can show), and a day whose clocks change, or that does not check out, is
 * left to Intl call by call.
 */
export class ZoneClock {
  private readonly display: Intl.DateTimeFormat;
  private readonly numeric: Intl.DateTimeFormat;
  private readonly days = new Map<number, SteadyDay | null>();
  private layout: Intl.DateTimeFormatPart[] | null = null;
  private monthNames: string[] = [];
  private weekdayNames: string[] = [];

  /** RangeError for a zone Intl does not know. */
  constructor(readonly timeZone: string) {
    this.display = new Intl.DateTimeFormat(ZONE_TIME_LOCALE, { ...ZONE_TIME_OPTIONS, timeZone });
    this.numeric = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
      era: 'short',
    });
  }

  /** `date` in this zone: `Wed, 25 Nov 2026, 15:20:00 GMT`. */
  format(date: Date): string {
    const ms = date.getTime();
    if (!Number.isFinite(ms)) return this.display.format(date);
    const dayNumber = Math.floor(ms / DAY_IN_MS);
    let day = this.days.get(dayNumber);
    if (day === undefined) {
      day = this.steadyDay(dayNumber);
      if (this.days.size >= DAYS_KEPT) this.days.delete(this.days.keys().next().value!);
      this.days.set(dayNumber, day);
    }
    return day === null ? this.display.format(date) : this.write(ms, day);
  }

  /** The day's offset and name when they hold all day and the text they give is Intl's; else null. */
  private steadyDay(dayNumber: number): SteadyDay | null {
    const start = dayNumber * DAY_IN_MS;
    const end = start + DAY_IN_MS - 1;
    const offsetInMs = this.offsetAt(start);
    if (offsetInMs === null) return null;
    for (let at = start + HOUR_IN_MS; at < end; at += HOUR_IN_MS) if (this.offsetAt(at) !== offsetInMs) return null;
    if (this.offsetAt(end) !== offsetInMs) return null;
    const zoneName = this.display.formatToParts(start).find((p) => p.type === 'timeZoneName')?.value;
    if (zoneName === undefined || this.display.formatToParts(end).find((p) => p.type === 'timeZoneName')?.value !== zoneName) return null;
    this.learnLayout();
    const day = { offsetInMs, zoneName };
    const checks = [start, end];
    return checks.every((at) => this.write(at, day) === this.display.format(at)) ? day : null;
  }

  /** Local time minus UTC at `ms`, in whole seconds as Intl shows them; null outside the years written with four digits. */
  private offsetAt(ms: number): number | null {
    const fields: Record<string, string> = {};
    for (const part of this.numeric.formatToParts(ms)) fields[part.type] = part.value;
    const year = Number(fields.year);
    if (fields.era !== 'AD' || !(year >= 1000 && year <= 9999)) return null;
    const local = Date.UTC(year, Number(fields.month) - 1, Number(fields.day), Number(fields.hour), Number(fields.minute), Number(fields.second));
    return local - (ms - (((ms % 1000) + 1000) % 1000));
  }

  /** The order of the parts and the words for months and weekdays, as Intl writes them in this pattern. */
  private learnLayout(): void {
    if (this.layout !== null) return;
    const utc = new Intl.DateTimeFormat(ZONE_TIME_LOCALE, { ...ZONE_TIME_OPTIONS, timeZone: 'UTC' });
    const partOf = (ms: number, type: Intl.DateTimeFormatPartTypes) => utc.formatToParts(ms).find((p) => p.type === type)?.value ?? '';
    // 15 January 2026 onwards, one a month; 4 January 2026 was a Sunday (getUTCDay 0).
    this.monthNames = Array.from({ length: 12 }, (_, m) => partOf(Date.UTC(2026, m, 15), 'month'));
    this.weekdayNames = Array.from({ length: 7 }, (_, d) => partOf(Date.UTC(2026, 0, 4 + d), 'weekday'));
    this.layout = this.display.formatToParts(Date.UTC(2026, 0, 15));
  }

  private write(ms: number, day: SteadyDay): string {
    const local = new Date(ms + day.offsetInMs);
    let text = '';
    for (const part of this.layout!) {
      switch (part.type) {
        case 'weekday': text += this.weekdayNames[local.getUTCDay()]; break;
        case 'day': text += local.getUTCDate(); break;
        case 'month': text += this.monthNames[local.getUTCMonth()]; break;
        case 'year': text += local.getUTCFullYear(); break;
        case 'hour': text += twoDigits(local.getUTCHours()); break;
        case 'minute': text += twoDigits(local.getUTCMinutes()); break;
        case 'second': text += twoDigits(local.getUTCSeconds()); break;
        case 'timeZoneName': text += day.zoneName; break;
        default: text += part.value;
      }
    }
    return text;
  }
}

function twoDigits(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
