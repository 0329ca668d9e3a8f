/**
 * Windows (issue 11): instants that do not exist are refused, never rolled
 * over; a window is bounded by MAX_WINDOW_DAYS; the longest allowed window is
 * sliced in bounded chunks; the timer's window after an outage is bounded too.
 */
import { readSettings } from '../shared/platform/config';
import { buildRunInput } from '../shared/run/runStart';
import { countSlices, parseInstant, scheduledWindow, sliceChunks, sliceWindow, windowTooLong } from '../shared/run/window';

describe('parseInstant', () => {
  it.each([
    ['2026-11-25', '2026-11-25T00:00:00.000Z'],
    ['2028-02-29', '2028-02-29T00:00:00.000Z'],
    ['2000-02-29', '2000-02-29T00:00:00.000Z'],
    ['2026-11-25T10:15Z', '2026-11-25T10:15:00.000Z'],
    ['2026-11-25T10:15:30.250Z', '2026-11-25T10:15:30.250Z'],
    ['2026-11-25T23:59:59+01:00', '2026-11-25T22:59:59.000Z'],
    ['2026-11-25T00:00:00-0530', '2026-11-25T05:30:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseInstant(text)).toEqual({ ok: true, iso });
  });

  it.each([
    ['2026-02-30', /does not exist: 2026-02 has 28 days/],
    ['2026-02-29', /2026-02 has 28 days/],
    ['1900-02-29', /1900-02 has 28 days/],
    ['2026-04-31', /2026-04 has 30 days/],
    ['2026-13-01', /month 13/],
    ['2026-00-01', /month 00/],
    ['2026-11-00', /does not exist/],
    ['2026-11-25T24:00:00Z', /time that does not exist/],
    ['2026-11-25T10:60Z', /time that does not exist/],
    ['2026-11-25T10:00:60Z', /time that does not exist/],
    ['2026-11-25T10:00:00+24:00', /offset/],
    ['2026-11-25T10:00:00', /not an ISO 8601 instant/],
    ['25/11/2026', /not an ISO 8601 instant/],
    ['', /not an ISO 8601 instant/],
  ])('refuses %s', (text, reason) => {
    const parsed = parseInstant(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });
});

describe('window bounds', () => {
  it('allows exactly MAX_WINDOW_DAYS and refuses a millisecond more, naming the setting', () => {
    expect(windowTooLong({ from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.000Z' }, 31)).toBeUndefined();
    expect(windowTooLong({ from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:00.001Z' }, 31)).toMatch(/spans 32 days; MAX_WINDOW_DAYS allows at most 31/);
    expect(windowTooLong({ from: '0000-01-01T00:00:00.000Z', to: '9999-12-31T00:00:00.000Z' }, 366)).toMatch(/MAX_WINDOW_DAYS/);
  });

  it('slices the longest allowed window (366 days and 14 settle days, 5-minute slices) in bounded chunks that cover it exactly', () => {
    const window = { from: '2025-12-18T00:00:00.000Z', to: '2027-01-02T00:00:00.000Z' };
    const expected = countSlices(window, 5);
    expect(expected).toBe(380 * 24 * 12);
    let seen = 0;
    let last = window.from;
    let largest = 0;
    for (const chunk of sliceChunks(window, 5, 500)) {
      largest = Math.max(largest, chunk.length);
      for (const slice of chunk) {
        expect(slice.index).toBe(seen);
        if (slice.from !== last) throw new Error(`gap before slice ${slice.index}`);
        last = slice.to;
        seen++;
      }
    }
    expect(largest).toBe(500);
    expect(seen).toBe(expected);
    expect(last).toBe(window.to);
  });

  it('slices as before: the last slice may be shorter', () => {
    expect(sliceWindow({ from: '2026-11-25T00:00:00.000Z', to: '2026-11-25T02:30:00.000Z' }, 60).map((s) => s.to)).toEqual([
      '2026-11-25T01:00:00.000Z', '2026-11-25T02:00:00.000Z', '2026-11-25T02:30:00.000Z',
    ]);
    expect(countSlices({ from: '2026-11-25T00:00:00.000Z', to: '2026-11-25T02:30:00.000Z' }, 60)).toBe(3);
  });

  it('bounds the timer window after an outage to MAX_WINDOW_DAYS from the watermark', () => {
    const now = new Date('2026-11-26T02:00:00Z');
    expect(scheduledWindow(now, '2025-01-01T00:00:00.000Z', 48, 31)).toEqual({
      window: { from: '2025-01-01T00:00:00.000Z', to: '2025-02-01T00:00:00.000Z' },
      readFrom: '2024-12-30T00:00:00.000Z',
    });
    // Close to today, the window ends at the start of today.
    expect(scheduledWindow(now, '2026-11-20T00:00:00.000Z', 48, 31)?.window.to).toBe('2026-11-26T00:00:00.000Z');
    expect(scheduledWindow(now, '2026-11-26T00:00:00.000Z', 48, 31)).toBeUndefined();
  });
});

describe('buildRunInput: the guard behind every starter', () => {
  const settings = readSettings({ MAX_WINDOW_DAYS: '31' });

  it('refuses a window longer than MAX_WINDOW_DAYS from any starter with BAD_WINDOW naming the setting', () => {
    const window = { from: '2026-01-01T00:00:00.000Z', to: '2026-02-01T00:00:01.000Z' };
    for (const trigger of ['timer', 'http', 'cli'] as const) {
      expect(() => buildRunInput({ trigger, window }, settings, 'run-x')).toThrow(expect.objectContaining({ code: 'BAD_WINDOW', setting: 'MAX_WINDOW_DAYS' }));
    }
    expect(buildRunInput({ trigger: 'timer', window: { ...window, to: '2026-02-01T00:00:00.000Z' } }, settings, 'run-x').input.window.to).toBe('2026-02-01T00:00:00.000Z');
  });

  it('lets a re-drive keep its earlier run’s window: it reads no source', () => {
    const window = { from: '2025-01-01T00:00:00.000Z', to: '2026-01-01T00:00:00.000Z' };
    expect(buildRunInput({ trigger: 'redrive', window, redriveOf: 'run-old' }, settings, 'run-x').instanceId).toBe('redrive-run-old');
  });
});
