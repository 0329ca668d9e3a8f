/**
 * ZoneClock writes every instant exactly as a fresh Intl.DateTimeFormat does,
 * in zones with daylight saving both sides of the equator, half- and
 * quarter-hour offsets, a half-hour clock change, and at the moments clocks
 * change.
 */
import { ZONE_TIME_OPTIONS, ZoneClock } from '../../shared/stages/convert/time';

const OPTIONS = ZONE_TIME_OPTIONS;

function intl(timeZone: string): (ms: number) => string {
  const format = new Intl.DateTimeFormat('en-GB', { ...OPTIONS, timeZone });
  return (ms) => format.format(ms);
}

const ZONES = [
  'Europe/London',
  'America/New_York',
  'America/St_Johns',
  'America/Santiago',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Tokyo',
  'Africa/Casablanca',
  'UTC',
];

test.each(ZONES)('%s: two years of instants, one every 3h 17m 13.457s, as Intl writes them', (zone) => {
  const clock = new ZoneClock(zone);
  const expected = intl(zone);
  const step = ((3 * 60 + 17) * 60 + 13) * 1000 + 457;
  const mismatches: string[] = [];
  for (let ms = Date.UTC(2025, 0, 1); ms < Date.UTC(2027, 0, 1); ms += step) {
    const got = clock.format(new Date(ms));
    if (got !== expected(ms)) mismatches.push(`${new Date(ms).toISOString()}: ${got} != ${expected(ms)}`);
  }
  expect(mismatches).toEqual([]);
});

test.each(ZONES)('%s: every second around each change of its clocks in 2026', (zone) => {
  const clock = new ZoneClock(zone);
  const expected = intl(zone);
  const offsetName = (ms: number) => expected(ms).split(' ').pop();
  // The changes: where the zone's name (GMT/BST, GMT-5/GMT-4) differs an hour apart, found to the second.
  const changes: number[] = [];
  for (let ms = Date.UTC(2026, 0, 1); ms < Date.UTC(2027, 0, 1); ms += 3_600_000) {
    if (offsetName(ms) === offsetName(ms + 3_600_000)) continue;
    let [low, high] = [ms, ms + 3_600_000];
    while (high - low > 1000) {
      const middle = low + Math.floor((high - low) / 2000) * 1000;
      if (offsetName(middle) === offsetName(low)) low = middle;
      else high = middle;
    }
    changes.push(high);
  }
  if (zone !== 'UTC' && !['Asia/Kolkata', 'Asia/Kathmandu', 'Asia/Tokyo', 'Africa/Casablanca'].includes(zone)) expect(changes.length).toBeGreaterThan(0);
  const mismatches: string[] = [];
  for (const change of changes) {
    for (let ms = change - 5000; ms <= change + 5000; ms += 250) {
      const got = clock.format(new Date(ms));
      if (got !== expected(ms)) mismatches.push(`${new Date(ms).toISOString()}: ${got} != ${expected(ms)}`);
    }
  }
  expect(mismatches).toEqual([]);
});

test('instants far from now, and an invalid date, are written as Intl writes them', () => {
  const clock = new ZoneClock('Europe/London');
  const expected = intl('Europe/London');
  for (const iso of ['1847-12-01T00:00:00.000Z', '1916-05-21T02:00:00.000Z', '1970-01-01T00:00:00.000Z', '0999-06-01T12:00:00.000Z', '2100-03-28T01:00:00.000Z', '9999-12-31T23:59:59.999Z']) {
    expect(clock.format(new Date(iso))).toBe(expected(Date.parse(iso)));
  }
  expect(() => clock.format(new Date(Number.NaN))).toThrow(RangeError);
});

test('an unknown zone is refused', () => {
  expect(() => new ZoneClock('Mars/Olympus_Mons')).toThrow(RangeError);
});

test('on a day whose clocks do not change, Intl is asked about the day, not about every instant', () => {
  const clock = new ZoneClock('Europe/Paris');
  // format is a getter on the prototype (it hands out a bound function); each read is a call.
  const format = jest.spyOn(Intl.DateTimeFormat.prototype as unknown as { format: unknown }, 'format', 'get');
  const formatToParts = jest.spyOn(Intl.DateTimeFormat.prototype, 'formatToParts');
  try {
    const day = Date.UTC(2026, 10, 25);
    const written = new Set<string>();
    for (let i = 0; i < 1000; i++) written.add(clock.format(new Date(day + i * 86_000)));
    expect(written.size).toBe(1000);
    expect(format.mock.calls.length + formatToParts.mock.calls.length).toBeLessThan(100);
  } finally {
    format.mockRestore();
    formatToParts.mockRestore();
  }
});
