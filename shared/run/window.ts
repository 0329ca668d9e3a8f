/**
 * Windows and slices: pure decisions about which time a run covers.
 */
import type { TimeWindow } from '../model/item';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

export interface WindowSlice extends TimeWindow {
  index: number;
}

/** Splits `[from, to)` into consecutive slices of `sliceMinutes` (the last one may be shorter). */
export function sliceWindow(window: TimeWindow, sliceMinutes: number): WindowSlice[] {
  return [...iterateSlices(window, sliceMinutes)];
}

/** How many slices sliceWindow makes of `[from, to)`, without making them. */
export function countSlices(window: TimeWindow, sliceMinutes: number): number {
  const { from, to } = windowBounds(window);
  return Math.ceil((to - from) / (sliceMinutes * 60_000));
}

/** The slices of `[from, to)` one by one, in chunks of at most `chunkSize`, so a long window never sits in memory whole. */
export function* sliceChunks(window: TimeWindow, sliceMinutes: number, chunkSize: number): Generator<WindowSlice[]> {
  let chunk: WindowSlice[] = [];
  for (const slice of iterateSlices(window, sliceMinutes)) {
    chunk.push(slice);
    if (chunk.length >= chunkSize) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

function* iterateSlices(window: TimeWindow, sliceMinutes: number): Generator<WindowSlice> {
  const { from, to } = windowBounds(window);
  const step = sliceMinutes * 60_000;
  for (let start = from, index = 0; start < to; start += step, index++) {
    yield { index, from: new Date(start).toISOString(), to: new Date(Math.min(start + step, to)).toISOString() };
  }
}

function windowBounds(window: TimeWindow): { from: number; to: number } {
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  if (!(to > from)) throw new RangeError(`window ${window.from} .. ${window.to} is empty or reversed`);
  return { from, to };
}

/** Whole days a window spans, rounded up (what MAX_WINDOW_DAYS bounds). */
export function windowDays(window: TimeWindow): number {
  return Math.ceil((Date.parse(window.to) - Date.parse(window.from)) / DAY_MS);
}

/**
 * Why a window may not be run at once, or undefined when it may: longer than
 * `maxWindowDays` (MAX_WINDOW_DAYS). Every slice of a window becomes a queue
 * message, so an unbounded window would never start.
 */
export function windowTooLong(window: TimeWindow, maxWindowDays: number): string | undefined {
  const ms = Date.parse(window.to) - Date.parse(window.from);
  if (ms <= maxWindowDays * DAY_MS) return undefined;
  return `the window ${window.from} .. ${window.to} spans ${windowDays(window)} days; ` +
    `MAX_WINDOW_DAYS allows at most ${maxWindowDays} in one run: split it into windows of at most ${maxWindowDays} days`;
}

// An instant as people write it (cli.md): ISO 8601 with `Z` or an offset, or a bare date (midnight UTC).
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|([+-])(\d{2}):?(\d{2})))?$/i;

/**
 * Reads an instant as the CLI and the HTTP API take it: `2026-11-25T10:00:00Z`,
 * an offset instead of `Z`, or a bare date meaning midnight UTC. A date or time
 * that does not exist (`2026-02-30`, `T24:00`) is refused, never rolled over.
 * Returns the ISO UTC form, or why the text is not an instant.
 */
export function parseInstant(text: string): { ok: true; iso: string } | { ok: false; reason: string } {
  const m = INSTANT.exec(text.trim());
  if (!m) return { ok: false, reason: 'is not an ISO 8601 instant (2026-11-25T00:00:00Z) or a date (2026-11-25)' };
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12) return { ok: false, reason: `names month ${m[2]}, and a year has 12` };
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  if (day < 1 || day > daysInMonth) return { ok: false, reason: `names a day that does not exist: ${m[1]}-${m[2]} has ${daysInMonth} days` };
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return { ok: false, reason: 'names a time that does not exist (hours 00-23, minutes and seconds 00-59)' };
  if (m[9] !== undefined && (Number(m[10]) > 23 || Number(m[11]) > 59)) return { ok: false, reason: 'has an offset that does not exist (at most ±23:59)' };
  const ms = Date.parse(m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : text.trim());
  if (Number.isNaN(ms)) return { ok: false, reason: 'is not an ISO 8601 instant (2026-11-25T00:00:00Z) or a date (2026-11-25)' };
  return { ok: true, iso: new Date(ms).toISOString() };
}

/** The start of the UTC day that holds `instant`. */
export function startOfUtcDay(instant: Date): Date {
  return new Date(Math.floor(instant.getTime() / DAY_MS) * DAY_MS);
}

/**
 * A scheduled run's window: from the watermark (or one day back when there is
 * none) to the start of the current UTC day, but at most `maxWindowDays` long,
 * read again `settleHours` behind the watermark for late arrivals.
 */
export function scheduledWindow(
  now: Date,
  watermark: string | undefined,
  settleHours: number,
  maxWindowDays: number = Number.POSITIVE_INFINITY,
): { window: TimeWindow; readFrom: string } | undefined {
  const today = startOfUtcDay(now);
  const from = watermark ? new Date(watermark) : new Date(today.getTime() - DAY_MS);
  if (from.getTime() >= today.getTime()) return undefined;
  // After a long outage the catch-up goes a window of at most maxWindowDays per run; the watermark moves run by run.
  const to = new Date(Math.min(today.getTime(), from.getTime() + maxWindowDays * DAY_MS));
  return {
    window: { from: from.toISOString(), to: to.toISOString() },
    readFrom: new Date(from.getTime() - settleHours * HOUR_MS).toISOString(),
  };
}

/** The one orchestration instance of a window: a second start of a running window finds it. */
export function instanceIdForWindow(window: TimeWindow): string {
  return `window-${window.from}-${window.to}`.replace(/[^A-Za-z0-9-]/g, '');
}
