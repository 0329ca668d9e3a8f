/**
 * The import activity over real queues and tables: a poisoned import message
 * fails only the units still pending, never one already imported; a message
 * redelivered while its first activity still runs (its lease lapsed) never
 * makes a second import chain for the mailbox; and a unit Graph failed only
 * transiently is tried again on a later pass, its failure standing only after
 * the give-up time.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAzurite, type AzuriteHandle } from '../../local/azurite';
import { readSettings } from '../../shared/platform/config';
import { createActivities, type ActivityDependencies, type ImportMessage } from '../../shared/activities';
import { createActivityDependencies } from '../../shared/app/root';
import { itemKey } from '../../shared/model/item';
import type { MailboxImporter, UnitResult } from '../../shared/model/stages';
import { sampleEmail } from '../import/fakeGraph';

describe('import activity over real queues', () => {
  let azurite: AzuriteHandle;

  beforeAll(async () => {
    // Its own Azurite: the stage queues have fixed names.
    azurite = await startAzurite({ location: mkdtempSync(path.join(os.tmpdir(), 'o2-import-activity-')) });
  });

  afterAll(async () => {
    await azurite?.stop();
  });

  const MAILBOX = { objectId: '0f6c1c1e-2222-4c7a-9a5e-000000000001', userPrincipalName: 'alice@contoso.com' };

  async function setUp(runId: string, unitCount: number, env: Record<string, string>, importer: MailboxImporter) {
    const settings = readSettings({ AzureWebJobsStorage: azurite.connectionString, TELEMESSAGE_BASE_URL: 'http://127.0.0.1:9/unused', ...env });
    const base = createActivityDependencies(settings);
    const deps: ActivityDependencies = { ...base, importer: () => importer };
    await deps.ensureStorage();
    await deps.queues.ensure(runId);
    await deps.runs.createRun({
      runId, instanceId: `i-${runId}`, trigger: 'cli', readFrom: '2026-11-25T00:00:00.000Z',
      window: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' }, startedAt: '2026-11-26T00:00:00.000Z', finishedAt: null, status: 'running',
    });
    const units = Array.from({ length: unitCount }, (_, i) => `${runId}-item-${i}`)
      .map((id) => ({ mailboxId: MAILBOX.objectId, mailbox: MAILBOX.userPrincipalName, itemKey: itemKey(id), itemId: id, type: 'sms' as const, outcome: 'pending' as const }))
      .sort((a, b) => (a.itemKey < b.itemKey ? -1 : 1));
    await deps.runs.addUnits(runId, units.map((row) => ({ row, email: sampleEmail(row.itemId), convertedBatch: `runs/${runId}/converted/x.json` })));
    await deps.runs.noteMailboxes(runId, [MAILBOX]);
    expect(await deps.runs.startChain(runId, MAILBOX.objectId)).toBe(true);
    const first: ImportMessage = { runId, mailboxId: MAILBOX.objectId, mailbox: MAILBOX.userPrincipalName, step: 0, pass: 0 };
    return { deps, activities: createActivities(deps), units, first, queue: deps.queues.of(runId).import };
  }

  const importsAll: MailboxImporter = {
    async importUnits(_runId, _mailbox, units) {
      return units.map((u): UnitResult => ({ itemKey: u.itemKey, outcome: 'imported', graphMessageId: `m-${u.itemId}` }));
    },
  };

  it('fails only the units still pending when an import message is poisoned, never one already imported', async () => {
    const { deps, activities, units, first, queue } = await setUp('run-poison-import', 3, { QUEUE_VISIBILITY_TIMEOUT_SECONDS: '1', MAX_DEQUEUE_COUNT: '2' }, importsAll);
    await deps.runs.setUnitOutcome('run-poison-import', { ...units[0], outcome: 'imported' });
    await queue.send(first);
    // Two deliveries that never finish (their workers died), then the third is over the limit.
    for (let i = 0; i < 2; i++) {
      expect((await queue.receive(1)).fresh).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
    }
    expect((await activities.importMailboxes({ runId: 'run-poison-import' })).poisoned).toBe(1);
    const outcomes = new Map((await deps.runs.listUnits('run-poison-import')).map((u) => [u.itemKey, u]));
    expect(outcomes.get(units[0].itemKey)).toMatchObject({ outcome: 'imported' });
    expect(outcomes.get(units[1].itemKey)).toMatchObject({ outcome: 'failed', reason: 'poisoned' });
    expect(outcomes.get(units[2].itemKey)).toMatchObject({ outcome: 'failed', reason: 'poisoned' });
  });

  it('never lets a failure overwrite a unit already imported, nor a failure overwrite a failure', async () => {
    const { deps, units } = await setUp('run-precedence', 2, {}, importsAll);
    const row = (i: number) => units[i];
    await deps.runs.setUnitOutcome('run-precedence', { ...row(0), outcome: 'imported' });
    await deps.runs.setUnitOutcome('run-precedence', { ...row(0), outcome: 'failed', reason: 'graph-error', detail: 'late' });
    await deps.runs.setUnitOutcome('run-precedence', { ...row(1), outcome: 'failed', reason: 'graph-error', detail: 'first' });
    await deps.runs.setUnitOutcome('run-precedence', { ...row(1), outcome: 'failed', reason: 'poisoned', detail: 'second' });
    // A success recorded by the worker that won a race still replaces a failure recorded by the one that lost it.
    const after = new Map((await deps.runs.listUnits('run-precedence')).map((u) => [u.itemKey, u]));
    expect(after.get(units[0].itemKey)).toMatchObject({ outcome: 'imported' });
    expect(after.get(units[1].itemKey)).toMatchObject({ outcome: 'failed', detail: 'first' });
    await deps.runs.setUnitOutcome('run-precedence', { ...row(1), outcome: 'duplicate' });
    expect((await deps.runs.listUnits('run-precedence')).find((u) => u.itemKey === units[1].itemKey)).toMatchObject({ outcome: 'duplicate' });
  });

  /** Runs the mailbox's chain until its queue holds nothing more (delayed sweeps included), at most `rounds` steps. */
  async function driveChain(activities: ReturnType<typeof createActivities>, runId: string, queue: { queue: { getProperties(): Promise<{ approximateMessagesCount?: number }> } }, rounds = 40) {
    let steps = 0;
    for (; steps < rounds; steps++) {
      if (((await queue.queue.getProperties()).approximateMessagesCount ?? 0) === 0) break;
      if ((await activities.importMailboxes({ runId })).done === 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return steps;
  }

  it('tries a unit Graph failed only transiently again on a later pass instead of reporting it failed', async () => {
    let calls = 0;
    const transientOnce: MailboxImporter = {
      async importUnits(runId, mailbox, units) {
        // The first step meets a Graph outage past the retry budget (as a mail-folder look-up would), then Graph is back.
        if (calls++ === 0) return units.map((u): UnitResult => ({ itemKey: u.itemKey, outcome: 'failed', reason: 'graph-error', detail: 'mail folder: no response retry budget exhausted', transient: true }));
        return importsAll.importUnits(runId, mailbox, units);
      },
    };
    const { deps, activities, first, queue, units } = await setUp('run-transient', 3, { IMPORT_LEASE_SECONDS: '5', RETRY_TIME_SCALE: '0.2' }, transientOnce);
    await queue.send(first);
    await driveChain(activities, 'run-transient', queue);
    const outcomes = await deps.runs.listUnits('run-transient');
    expect(outcomes.map((u) => u.outcome)).toEqual(units.map(() => 'imported'));
    expect(calls).toBe(2);
  }, 60_000);

  it('lets a transient failure stand, and a held unit fail as held-by-other, on the last pass after the give-up time', async () => {
    const passes: number[] = [];
    const neverWell: MailboxImporter = {
      async importUnits(_runId, _mailbox, units) {
        passes.push(units.length);
        return units.map((u, i): UnitResult => (i === 0
          ? { itemKey: u.itemKey, outcome: 'held', detail: 'another worker holds the unit' }
          : { itemKey: u.itemKey, outcome: 'failed', reason: 'graph-error', detail: 'status 503 ServiceUnavailable retry budget exhausted', transient: true }));
      },
    };
    // Two hours × 0.0002 = 1.44 s of sweeps a second apart, then the last pass.
    const { deps, activities, first, queue, units } = await setUp('run-outage', 3, { IMPORT_LEASE_SECONDS: '5', RETRY_TIME_SCALE: '0.0002' }, neverWell);
    await queue.send(first);
    await driveChain(activities, 'run-outage', queue);
    const outcomes = new Map((await deps.runs.listUnits('run-outage')).map((u) => [u.itemKey, u]));
    expect(outcomes.get(units[0].itemKey)).toMatchObject({ outcome: 'failed', reason: 'held-by-other' });
    expect(outcomes.get(units[1].itemKey)).toMatchObject({ outcome: 'failed', reason: 'graph-error', detail: expect.stringContaining('status 503') });
    expect(outcomes.get(units[2].itemKey)).toMatchObject({ outcome: 'failed', reason: 'graph-error' });
    // Swept more than once before the last pass; nothing after it.
    expect(passes.length).toBeGreaterThan(2);
    expect(((await queue.queue.getProperties()).approximateMessagesCount ?? 0)).toBe(0);
  }, 60_000);

  it('keeps one import chain per mailbox when a message is redelivered while its first activity still runs', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    let calls = 0;
    const slowFirst: MailboxImporter = {
      async importUnits(runId, mailbox, units) {
        if (calls++ === 0) {
          started();
          await released;
        }
        return importsAll.importUnits(runId, mailbox, units);
      },
    };
    const { activities, first, queue, units } = await setUp('run-redelivered', 5, { QUEUE_VISIBILITY_TIMEOUT_SECONDS: '2', IMPORT_UNITS_PER_ACTIVITY: '2' }, slowFirst);
    // The first activity's lease renewals never arrive (a lost connection to the queue).
    queue.renew = async () => undefined;
    await queue.send(first);
    const one = activities.importMailboxes({ runId: 'run-redelivered' });
    await firstStarted;
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    // The message came back while the first activity still works on it: a second activity takes it.
    expect((await activities.importMailboxes({ runId: 'run-redelivered' })).done).toBe(1);
    release();
    await one;
    const waiting = (await queue.queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.map((m) => JSON.parse(m.messageText) as ImportMessage);
    expect(waiting).toEqual([expect.objectContaining({ runId: 'run-redelivered', step: 1, after: units[1].itemKey })]);
  });
});
