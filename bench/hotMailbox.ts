/**
 * One hot mailbox: a day whose every message belongs to one user, imported
 * against the Graph emulator's per-mailbox limits with time scaled (the
 * 10-minute window and every wait shrink alike, on both sides), so the
 * ceiling is 10,000 requests per scaled 10 minutes. The achieved rate is the
 * mailbox's imported units over the time between its first and last
 * admitted Graph request.
 */
import { GRAPH_REQUESTS_PER_10_MIN } from '../shared/stages/import/pacing';
import { runSmsDay, type BenchStack, type DayResult } from './pipeline';

export interface HotMailboxResult {
  units: number;
  timeScale: number;
  /** Units a second the mailbox took. */
  unitsPerSecond: number;
  /** The emulator's ceiling for one mailbox, requests a second. */
  ceilingPerSecond: number;
  /** unitsPerSecond ÷ ceilingPerSecond. */
  ratio: number;
  graphRequests: number;
  throttled: number;
  /** throttled ÷ graphRequests. */
  throttledShare: number;
  day: DayResult;
}

/** Archives `units` SMS into one mailbox with the limits scaled by `timeScale`. */
export async function benchHotMailbox(stack: BenchStack, options: { units: number; timeScale: number; log?: (line: string) => void }): Promise<HotMailboxResult> {
  const day = await runSmsDay(stack, {
    mailboxes: 1,
    items: options.units,
    env: { RETRY_TIME_SCALE: String(options.timeScale) },
    graphLimits: { timeScale: options.timeScale },
    label: 'hot mailbox',
    log: options.log,
  });
  const [mailbox] = Object.values(day.graphMailboxes);
  if (!mailbox || day.report.counts.importUnits !== options.units) throw new Error(`the hot mailbox took ${day.report.counts.importUnits} units, not ${options.units}`);
  const seconds = (mailbox.lastAdmittedAt - mailbox.firstAdmittedAt) / 1000;
  const imported = day.report.counts.imported;
  const unitsPerSecond = imported / seconds;
  const ceilingPerSecond = GRAPH_REQUESTS_PER_10_MIN / (600 * options.timeScale);
  const throttled = mailbox.throttled.concurrency + mailbox.throttled.requestRate + mailbox.throttled.uploadBytes;
  return {
    units: imported,
    timeScale: options.timeScale,
    unitsPerSecond,
    ceilingPerSecond,
    ratio: unitsPerSecond / ceilingPerSecond,
    graphRequests: mailbox.requests,
    throttled,
    throttledShare: throttled / mailbox.requests,
    day,
  };
}
