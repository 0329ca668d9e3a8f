/**
 * Windows and slices: pure decisions about which time a run covers.
 */
import type { TimeWindow } from './item';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

export interface WindowSlice extends TimeWindow {
  index: number;
}

/** Splits `[from, to)` into consecutive slices of `sliceMinutes` (the last one may be shorter). */
export function sliceWindow(window: TimeWindow, sliceMinutes: number): WindowSlice[] {
  const from = Date.parse(window.from);
  const to = Date.parse(window.to);
  if (!(to > from)) throw new RangeError(`window ${window.from} .. ${window.to} is empty or reversed`);
  const step = sliceMinutes * 60_000;
  const slices: WindowSlice[] = [];
  for (let start = from, index = 0; start < to; start += step, index++) {
    slices.push({ index, from: new Date(start).toISOString(), to: new Date(Math.min(start + step, to)).toISOString() });
  }
  return slices;
}

/** Checks a window given by a person: both instants valid, `from` before `to`. */
export function validateWindow(window: { from?: unknown; to?: unknown }): TimeWindow {
  const from = typeof window.from === 'string' ? Date.parse(window.from) : NaN;
  const to = typeof window.to === 'string' ? Date.parse(window.to) : NaN;
  if (Number.isNaN(from)) throw new RangeError('"from" must be an ISO 8601 instant');
  if (Number.isNaN(to)) throw new RangeError('"to" must be an ISO 8601 instant');
  if (from >= to) throw new RangeError('"from" must be before "to"');
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/** The start of the UTC day that holds `instant`. */
export function startOfUtcDay(instant: Date): Date {
  return new Date(Math.floor(instant.getTime() / DAY_MS) * DAY_MS);
}

/**
 * A scheduled run's window: from the watermark (or one day back when there is
 * none) to the start of the current UTC day, read again `settleHours` behind
 * the watermark for late arrivals.
 */
export function scheduledWindow(now: Date, watermark: string | undefined, settleHours: number): { window: TimeWindow; readFrom: string } | undefined {
  const to = startOfUtcDay(now);
  const from = watermark ? new Date(watermark) : new Date(to.getTime() - DAY_MS);
  if (from.getTime() >= to.getTime()) return undefined;
  return {
    window: { from: from.toISOString(), to: to.toISOString() },
    readFrom: new Date(from.getTime() - settleHours * HOUR_MS).toISOString(),
  };
}

/** The one orchestration instance of a window: a second start of a running window finds it. */
export function instanceIdForWindow(window: TimeWindow): string {
  return `window-${window.from}-${window.to}`.replace(/[^A-Za-z0-9-]/g, '');
}
