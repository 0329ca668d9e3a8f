/**
 * The timer's catch-up after a long outage (issue 11): each scheduled run
 * covers at most MAX_WINDOW_DAYS from the watermark, so even a year-long gap
 * starts as small as any run; the watermark moves forward run by run until it
 * reaches the start of today, and every day in between is read.
 */
import { InvocationContext, type Timer } from '@azure/functions';
import { archiveTimer } from '../../functions/archiveTimer';
import { createAppHost, useAppHost } from '../../shared/app/root';
import type { AppHost } from '../../shared/http/host';
import { checkBalance } from '../../shared/run/report';
import type { ScheduledRunResult } from '../../shared/run/runStart';
import { startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(300_000);

describe('the timer catching up after a long outage', () => {
  let env: TestStack;
  let host: AppHost;
  const clock = new Date('2026-11-26T02:00:00Z');

  beforeAll(async () => {
    // Two days per run; six-hour slices keep each run small.
    env = await startTestStack({ env: { MAX_WINDOW_DAYS: '2', SLICE_MINUTES: '360' }, sample: { generatedItems: 4, bigItems: false } });
    host = createAppHost(env.runner.infra, env.runner, () => clock);
    useAppHost(host);
  });

  afterAll(async () => {
    useAppHost(undefined);
    await env?.stack.stop();
  });

  async function fire(): Promise<ScheduledRunResult> {
    return archiveTimer({ isPastDue: true } as Timer, new InvocationContext({ functionName: 'archiveTimer', logHandler: () => undefined }));
  }

  it('goes at most MAX_WINDOW_DAYS per run from the watermark, run by run, up to the start of today', async () => {
    await host.watermarks.set('2026-11-19T00:00:00Z', 'test');
    const windows: { from: string; to: string; readFrom: string; slices: number }[] = [];
    for (let run = 0; run < 6; run++) {
      const result = await fire();
      if (!('started' in result)) {
        expect(result.skipped).toBe('up-to-date');
        break;
      }
      const { report } = await env.runner.waitForRun(result.started);
      expect(report?.status).toBe('completed');
      expect(checkBalance(report!.counts)).toEqual([]);
      const status = await env.runner.getInstance(result.started.instanceId);
      windows.push({ ...result.window, readFrom: result.readFrom, slices: (status?.customStatus as { slices: number }).slices });
      expect((await host.watermarks.get())?.at).toBe(result.window.to);
    }
    expect(windows).toEqual([
      { from: '2026-11-19T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z', readFrom: '2026-11-17T00:00:00.000Z', slices: 16 },
      { from: '2026-11-21T00:00:00.000Z', to: '2026-11-23T00:00:00.000Z', readFrom: '2026-11-19T00:00:00.000Z', slices: 16 },
      { from: '2026-11-23T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z', readFrom: '2026-11-21T00:00:00.000Z', slices: 16 },
      { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z', readFrom: '2026-11-23T00:00:00.000Z', slices: 12 },
    ]);
    // The sample day (the 25th) was read by the last run: its routed items are in the mailboxes.
    const archived = env.stack.graph.store.listMessages('alice.smith@contoso.example', 'O2 SMS and Voice Network Archiver');
    expect(archived.length).toBeGreaterThan(0);
  });
});
