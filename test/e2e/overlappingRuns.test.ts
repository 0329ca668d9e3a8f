/**
 * Runs apart: a backfill of several days and a one-day run inside it, started
 * together. Each run has queues of its own, so each waits only for its own
 * work and counts only its own items, and between them every unit of the
 * shared day is imported once.
 */
import { sampleDay } from '../../local/sample';
import { checkBalance } from '../../shared/run/report';
import { startTestStack, SAMPLE_WINDOW, type TestStack } from '../support/stack';

const BACKFILL = { from: '2026-11-22T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' };
const EARLIER_DAYS = ['2026-11-22', '2026-11-23', '2026-11-24'];

describe('two overlapping runs', () => {
  let env: TestStack;
  let earlierItems = 0;

  beforeAll(async () => {
    env = await startTestStack();
    // Three earlier days of traffic beside the sample day, so the backfill has far more work than the day run.
    for (const day of EARLIER_DAYS) {
      const extra = sampleDay({ day, generatedItems: 60, bigItems: false, seed: `overlap-${day}` });
      env.stack.telemessage.addItems(extra.records, extra.media);
      earlierItems += extra.records.length;
    }
  });

  afterAll(async () => {
    await env?.stack.stop();
  });

  it('a backfill and a one-day run inside it each finish with their own counts, the day run first', async () => {
    const dayItems = env.stack.sample.expected.records;
    const backfill = await env.runner.startRun({ trigger: 'cli', window: BACKFILL });
    const day = await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW });
    expect(day.runId).not.toBe(backfill.runId);

    const finishedAt: Record<string, number> = {};
    const [b, d] = await Promise.all([
      env.runner.waitForRun(backfill).then((r) => ((finishedAt.backfill = Date.now()), r)),
      env.runner.waitForRun(day).then((r) => ((finishedAt.day = Date.now()), r)),
    ]);
    expect(b.instance.status).toBe('completed');
    expect(d.instance.status).toBe('completed');
    const backfillReport = b.report!;
    const dayReport = d.report!;

    // Each report counts its own window's items, no more and no fewer, and balances.
    expect(backfillReport.counts.sourceItems).toBe(earlierItems + dayItems);
    expect(dayReport.counts.sourceItems).toBe(dayItems);
    expect(checkBalance(backfillReport.counts)).toEqual([]);
    expect(checkBalance(dayReport.counts)).toEqual([]);
    expect(backfillReport.counts.failed).toBe(0);
    expect(dayReport.counts.failed).toBe(0);

    // The shared day's units were imported once between the two runs: what one imported, the other found as a duplicate.
    expect(dayReport.counts.imported + dayReport.counts.duplicates).toBe(dayReport.counts.importUnits);
    expect(backfillReport.counts.imported + backfillReport.counts.duplicates).toBe(backfillReport.counts.importUnits);
    const earlierUnits = backfillReport.counts.importUnits - dayReport.counts.importUnits;
    expect(earlierUnits).toBeGreaterThan(0);
    expect(backfillReport.counts.imported + dayReport.counts.imported).toBe(earlierUnits + dayReport.counts.importUnits);

    // The day run did not wait for the backfill's three other days.
    expect(finishedAt.day).toBeLessThan(finishedAt.backfill);
  });
});
