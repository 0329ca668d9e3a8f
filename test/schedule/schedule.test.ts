/**
 * The daily timer over the real orchestrator, local driver, Azurite and both
 * emulators: missed days are caught up and the watermark ends at the start of
 * today; an item arriving late inside the settle period is imported by the
 * next run; a failed unit moves the watermark anyway, waits in the backlog,
 * and a re-drive after the fault clears imports it exactly once.
 */
import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { archiveTimer } from '../../functions/archiveTimer';
import { redriveHttp } from '../../functions/redriveHttp';
import { readBacklog } from '../../shared/run/backlog';
import { createAppHost, useAppHost } from '../../shared/app/root';
import type { AppHost } from '../../shared/http/host';
import { checkBalance, type RunReport } from '../../shared/run/report';
import type { ScheduledRunResult } from '../../shared/run/runStart';
import { sampleDay, sampleTenant } from '../../local/sample';
import { startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(300_000);

const FOLDER = 'O2 SMS and Voice Network Archiver';

describe('the daily timer, the watermark and re-drive', () => {
  let env: TestStack;
  let host: AppHost;
  let clock = new Date('2026-11-26T02:00:00Z');
  const days = { d23: sampleDay({ day: '2026-11-23', generatedItems: 4, bigItems: false }), d24: sampleDay({ day: '2026-11-24', generatedItems: 4, bigItems: false }) };

  beforeAll(async () => {
    env = await startTestStack({ sample: { generatedItems: 8, bigItems: false } });
    host = createAppHost(env.runner.infra, env.runner, () => clock);
    useAppHost(host);
  });

  afterAll(async () => {
    useAppHost(undefined);
    await env?.stack.stop();
  });

  /** Fires the timer at `now` and waits for the run it started. */
  async function fireTimer(now: string): Promise<{ result: ScheduledRunResult; report: RunReport }> {
    clock = new Date(now);
    const result = await archiveTimer({ isPastDue: false } as Timer, new InvocationContext({ functionName: 'archiveTimer', logHandler: () => undefined }));
    if (!('started' in result)) throw new Error(`the timer started nothing: ${result.detail}`);
    const { report } = await env.runner.waitForRun(result.started);
    if (!report) throw new Error('no report');
    expect(checkBalance(report.counts)).toEqual([]);
    return { result, report };
  }

  /** The archived copies of an item in a user's mailbox (the emulator's store). */
  function copies(upn: string, itemId: string): number {
    return env.stack.graph.store.listMessages(upn, FOLDER).filter((m) => env.stack.graph.store.itemIdOf(m) === itemId).length;
  }

  function archivedIds(): Set<string> {
    const ids = new Set<string>();
    for (const user of sampleTenant()) for (const m of env.stack.graph.store.listMessages(user.userPrincipalName, FOLDER)) ids.add(env.stack.graph.store.itemIdOf(m));
    return ids;
  }

  it('catches up three missed days and ends the watermark at the start of today', async () => {
    env.stack.telemessage.addItems([...days.d23.records, ...days.d24.records]);
    // The last run archived up to the 23rd; the timer then missed the 24th, 25th and 26th.
    await host.watermarks.set('2026-11-23T00:00:00Z', 'test');
    const { result, report } = await fireTimer('2026-11-26T02:00:00Z');
    expect('started' in result && result.window).toEqual({ from: '2026-11-23T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' });
    expect('started' in result && result.readFrom).toBe('2026-11-21T00:00:00.000Z');
    expect(report.trigger).toBe('timer');
    expect(report.status).toBe('completed');
    const all = [...days.d23.records, ...days.d24.records, ...env.stack.sample.records];
    expect(report.counts.sourceItems).toBe(all.length);
    expect(report.counts.failed + report.counts.itemFailed).toBe(0);
    expect(report.counts.imported).toBe(report.counts.importUnits);
    // Every day's routed items reached a mailbox.
    const archived = archivedIds();
    for (const day of ['20261123', '20261124', '20261125']) {
      expect([...archived].filter((id) => id.includes(day)).length).toBeGreaterThan(0);
    }
    const unmapped = new Set(report.failures.filter((f) => f.reason === 'unmapped').map((f) => f.itemId));
    const missing = (all as { id: string }[]).filter((r) => !unmapped.has(r.id) && !archived.has(r.id)).map((r) => r.id);
    expect(missing).toEqual([]);
    expect((await host.watermarks.get())?.at).toBe('2026-11-26T00:00:00.000Z');
  });

  it('imports an item that arrives late, inside the settle period, in the next run', async () => {
    const template = (env.stack.sample.records as { id: string; type: string }[]).find((r) => r.type === 'sms' && r.id.startsWith('tm-20261125-sms-'))!;
    const late = { ...template, id: 'tm-20261125-late-0001', timestamp: '2026-11-25T23:30:00.000Z' };
    // It reached the archive after the run of the 25th had read that day.
    env.stack.telemessage.addItems([late]);
    const { result, report } = await fireTimer('2026-11-27T02:00:00Z');
    expect('started' in result && result.window).toEqual({ from: '2026-11-26T00:00:00.000Z', to: '2026-11-27T00:00:00.000Z' });
    expect(report.status).toBe('completed');
    // The settle re-read met the 25th again: everything archived before is a duplicate, the late item is new.
    expect(report.counts.duplicates).toBeGreaterThan(0);
    const lateRows = (await env.runner.infra.runs.listUnits(report.runId)).filter((u) => u.itemId === late.id);
    expect(lateRows.length).toBeGreaterThan(0);
    for (const unit of lateRows) {
      expect(unit.outcome).toBe('imported');
      expect(copies(unit.mailbox, late.id)).toBe(1);
    }
    expect(report.counts.imported).toBe(lateRows.length);
    expect((await host.watermarks.get())?.at).toBe('2026-11-27T00:00:00.000Z');
  });

  it('moves the watermark past a failed unit, keeps it in the backlog, and a re-drive imports it once', async () => {
    const d27 = sampleDay({ day: '2026-11-27', generatedItems: 4, bigItems: false });
    env.stack.telemessage.addItems(d27.records);
    // Only new items are created in mailboxes (the re-read ones are in the ledger): the first create fails for good.
    env.stack.graph.failNext({ method: 'POST', pathPattern: /\/messages$/, status: 400, code: 'ErrorInvalidRequest', message: 'Injected by the test.', times: 1 });
    const { report } = await fireTimer('2026-11-28T02:00:00Z');
    expect(report.status).toBe('completed-with-failures');
    expect(report.counts.failed).toBe(1);
    const failure = report.failures.find((f) => f.reason === 'graph-error')!;
    expect(failure).toBeDefined();
    expect((await host.watermarks.get())?.at).toBe('2026-11-28T00:00:00.000Z');
    expect(copies(failure.mailbox!, failure.itemId!)).toBe(0);

    const backlog = await readBacklog(host.runs, { now: clock });
    const owed = backlog.entries.filter((e) => e.reason !== 'unmapped');
    expect(owed).toEqual([expect.objectContaining({ itemId: failure.itemId, mailbox: failure.mailbox, reason: 'graph-error', runId: report.runId })]);
    expect(owed[0].ageInSeconds).toBeGreaterThanOrEqual(0);

    // The fault has cleared (failNext was one-off): re-drive the run through its HTTP function.
    const response = await redriveHttp(
      new HttpRequest({ method: 'POST', url: `http://localhost/api/runs/${report.runId}/redrive`, params: { runId: report.runId } }),
      new InvocationContext({ functionName: 'redriveHttp', logHandler: () => undefined }),
    );
    expect(response.status).toBe(202);
    const accepted = JSON.parse(response.body as string) as { runId: string; instanceId: string; outcome: 'started' };
    const { report: redrive } = await env.runner.waitForRun({ runId: accepted.runId, instanceId: accepted.instanceId, outcome: accepted.outcome });
    expect(redrive!.trigger).toBe('redrive');
    expect(redrive!.redriveOf).toBe(report.runId);
    // Its source items are the items re-driven: the failed unit's item and the run's unmapped items.
    expect(redrive!.counts.sourceItems).toBe(1 + report.counts.unmapped);
    expect(redrive!.counts.failed).toBe(0);
    expect(redrive!.counts.imported).toBe(1);
    expect(copies(failure.mailbox!, failure.itemId!)).toBe(1);
    expect(checkBalance(redrive!.counts)).toEqual([]);

    const after = await readBacklog(host.runs, { now: clock });
    expect(after.entries.filter((e) => e.reason !== 'unmapped')).toEqual([]);
    // A re-drive does not move the schedule.
    expect((await host.watermarks.get())?.at).toBe('2026-11-28T00:00:00.000Z');
  });
});
