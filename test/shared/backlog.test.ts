/**
 * The re-drive backlog kept as runs finish, over Azurite: what a run leaves
 * owed, what a re-drive clears, the first failure's time kept; the same
 * answer as computing it from every run's rows; read without touching the
 * runs' item and unit rows; built once from recent runs where it never was.
 */
import { applyFinishedRun, computeBacklog, readBacklog } from '../../shared/run/backlog';
import { RunStore, type RunRecord } from '../../shared/run/runs';
import { sampleEmail } from '../import/fakeGraph';
import { testStorage, uniqueName } from '../support/storage';

const NOW = new Date('2026-12-01T12:00:00.000Z');
const key = (c: string) => c.repeat(64);

function freshStore(): RunStore {
  const storage = testStorage();
  return new RunStore({ runs: storage.table(uniqueName('r')), items: storage.table(uniqueName('i')), units: storage.table(uniqueName('u')) });
}

/** One run through the store: items claimed and given outcomes, units added and given outcomes; not yet finished. */
async function runWith(
  runs: RunStore,
  runId: string,
  startedAt: string,
  items: { c: string; outcome: 'unmapped' | 'routed' | 'tooLarge'; units?: { mailbox: string; outcome: 'imported' | 'failed' | 'duplicate' }[] }[],
  redriveOf?: string,
): Promise<RunRecord> {
  const run: RunRecord = {
    runId, instanceId: `i-${runId}`, trigger: redriveOf ? 'redrive' : 'timer', readFrom: '2026-11-25T00:00:00.000Z',
    window: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' }, startedAt, finishedAt: null, status: 'running', ...(redriveOf ? { redriveOf } : {}),
  };
  await runs.createRun(run);
  await runs.claimItems(runId, items.map((i) => ({ itemKey: key(i.c), itemId: `tm-${i.c}`, type: 'sms' as const })), `m-${runId}`);
  for (const i of items) {
    await runs.setItemOutcome(runId, { itemKey: key(i.c), itemId: `tm-${i.c}`, type: 'sms', outcome: i.outcome, ...(i.outcome === 'unmapped' ? { unmappedNumbers: ['+447700900123'] } : {}) });
    for (const u of i.units ?? []) {
      const row = { mailboxId: `id-${u.mailbox}`, mailbox: u.mailbox, itemKey: key(i.c), itemId: `tm-${i.c}`, type: 'sms' as const, outcome: 'pending' as const };
      await runs.addUnits(runId, [{ row, email: sampleEmail(`tm-${i.c}`), convertedBatch: `runs/${runId}/converted/b.json` }]);
      await runs.setUnitOutcome(runId, { ...row, outcome: u.outcome, ...(u.outcome === 'failed' ? { reason: 'graph-error' as const, detail: 'status 400' } : {}) });
    }
  }
  return run;
}

/** Finishes a run as the finishRun activity does: its record first, then its rows applied to the backlog. */
async function finish(runs: RunStore, runId: string, finishedAt: string): Promise<void> {
  const finished = await runs.updateRun(runId, { status: 'completed-with-failures', finishedAt });
  await applyFinishedRun(runs, finished, await runs.listItems(runId), await runs.listUnits(runId));
}

describe('re-drive backlog, kept as runs finish', () => {
  it('holds what runs leave owed, clears what a re-drive imports, and keeps the first failure\'s time', async () => {
    const runs = freshStore();
    await runs.ensure();
    await runWith(runs, 'run-a', '2026-11-26T02:00:00.000Z', [
      { c: 'a', outcome: 'unmapped' },
      { c: 'b', outcome: 'routed', units: [{ mailbox: 'm1@contoso.example', outcome: 'failed' }, { mailbox: 'm2@contoso.example', outcome: 'imported' }] },
      { c: 'c', outcome: 'routed', units: [{ mailbox: 'm1@contoso.example', outcome: 'imported' }] },
      { c: 'd', outcome: 'tooLarge' },
    ]);
    await finish(runs, 'run-a', '2026-11-26T02:10:00.000Z');
    const first = await readBacklog(runs, { now: NOW });
    expect(first).toMatchObject({ total: 2, unmapped: 1, failed: 1 });
    expect(first.entries.map((e) => [e.itemId, e.mailbox, e.reason, e.runId, e.since])).toEqual([
      ['tm-a', null, 'unmapped', 'run-a', '2026-11-26T02:10:00.000Z'],
      ['tm-b', 'm1@contoso.example', 'graph-error', 'run-a', '2026-11-26T02:10:00.000Z'],
    ]);

    // A re-drive imports b into m1; a is still unmapped (the mapping did not change).
    await runWith(runs, 'run-b', '2026-11-27T09:00:00.000Z', [
      { c: 'a', outcome: 'unmapped' },
      { c: 'b', outcome: 'routed', units: [{ mailbox: 'm1@contoso.example', outcome: 'imported' }, { mailbox: 'm2@contoso.example', outcome: 'duplicate' }] },
    ], 'run-a');
    // While it runs, its items show as being re-driven.
    expect((await readBacklog(runs, { now: NOW })).entries.map((e) => e.redrivingIn)).toEqual(['run-b', 'run-b']);
    await finish(runs, 'run-b', '2026-11-27T09:05:00.000Z');
    const after = await readBacklog(runs, { now: NOW });
    expect(after.entries).toEqual([expect.objectContaining({ itemId: 'tm-a', reason: 'unmapped', runId: 'run-b', since: '2026-11-26T02:10:00.000Z' })]);
    expect(after.oldestAgeInSeconds).toBe((NOW.getTime() - Date.parse('2026-11-26T02:10:00.000Z')) / 1000);

    // Finishing a run again (a retried activity) changes nothing.
    await applyFinishedRun(runs, (await runs.getRun('run-b'))!, await runs.listItems('run-b'), await runs.listUnits('run-b'));
    expect(await readBacklog(runs, { now: NOW })).toEqual(after);

    // The same answer as computing it from every run's rows.
    const rows = await Promise.all(['run-a', 'run-b'].map(async (id) => ({ run: (await runs.getRun(id))!, items: await runs.listItems(id), units: await runs.listUnits(id) })));
    expect(computeBacklog(rows, { now: NOW })).toEqual(after);
  });

  it('reads the backlog without reading any run\'s item or unit rows when no re-drive is running', async () => {
    const runs = freshStore();
    await runs.ensure();
    for (let day = 1; day <= 5; day++) {
      const id = `run-${day}`;
      await runWith(runs, id, `2026-11-2${day}T02:00:00.000Z`, [{ c: String(day), outcome: 'unmapped' }, { c: String.fromCharCode(100 + day), outcome: 'routed', units: [{ mailbox: 'm@contoso.example', outcome: 'imported' }] }]);
      await finish(runs, id, `2026-11-2${day}T02:05:00.000Z`);
    }
    let rowReads = 0;
    const counted = Object.create(runs) as RunStore;
    counted.listItems = async (...args) => { rowReads++; return runs.listItems(...args); };
    counted.listUnits = async (...args) => { rowReads++; return runs.listUnits(...args); };
    const backlog = await readBacklog(counted, { now: NOW });
    expect(backlog.total).toBe(5);
    expect(rowReads).toBe(0);
  });

  it('is built once from the recent runs where its rows were never kept (a store from before)', async () => {
    const runs = freshStore();
    await runs.ensure();
    await runWith(runs, 'run-old', '2026-11-20T02:00:00.000Z', [{ c: 'e', outcome: 'unmapped' }, { c: 'f', outcome: 'routed', units: [{ mailbox: 'm@contoso.example', outcome: 'failed' }] }]);
    // Finished by an older version: its record only.
    await runs.updateRun('run-old', { status: 'completed-with-failures', finishedAt: '2026-11-20T02:05:00.000Z' });
    const backlog = await readBacklog(runs, { now: NOW });
    expect(backlog.entries.map((e) => [e.itemId, e.reason, e.since])).toEqual([
      ['tm-e', 'unmapped', '2026-11-20T02:05:00.000Z'],
      ['tm-f', 'graph-error', '2026-11-20T02:05:00.000Z'],
    ]);
    // Then kept as runs finish: a later run imports f.
    await runWith(runs, 'run-new', '2026-11-21T02:00:00.000Z', [{ c: 'f', outcome: 'routed', units: [{ mailbox: 'm@contoso.example', outcome: 'imported' }] }]);
    await finish(runs, 'run-new', '2026-11-21T02:05:00.000Z');
    expect((await readBacklog(runs, { now: NOW })).entries.map((e) => e.itemId)).toEqual(['tm-e']);
  });
});
