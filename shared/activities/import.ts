/**
 * The import stage: the run's units grouped by mailbox into one chain of
 * import messages per mailbox (so at most one import activity per mailbox is
 * in flight), each activity importing the next units of its mailbox.
 *
 * The chain's position is kept in the mailbox's plan row: a step carries the
 * chain on only by moving that position conditionally, so a message
 * redelivered while its first activity still runs never makes a second
 * chain. Units another worker held are tried again by sweeps at the chain's
 * end, half a lease apart, and fail as `held-by-other` only after two hours.
 */
import { queueDelayInSeconds, withRenewedLease, type StageMessage } from '../queues';
import type { RunUnitRow, StoredUnit } from '../runs';
import type { ImportUnit, UnitResult } from '../stages';
import { batchResult, forEachMessage, unitRow } from './batch';
import type { ActivityContext, ImportMessage, PlanImportResult, RunRef, StageBatchResult, UnitList } from './types';

/** Units handed to the importer at once, between checks of the activity's time budget. */
const IMPORT_STEP_UNITS = 16;
/**
 * How long units another worker holds are swept for before they fail as
 * `held-by-other` (× RETRY_TIME_SCALE). A holder renews its claim only while
 * it is alive and working, and every Graph call it makes has a bounded retry
 * budget, so a unit is held this long only by a defect.
 */
export const HELD_GIVE_UP_IN_MS = 2 * 60 * 60_000;

/** Groups the run's pending units by mailbox and starts one import chain per mailbox. */
export async function planImport({ deps }: ActivityContext, input: RunRef): Promise<PlanImportResult> {
  const { runs, queues, blobs } = deps;
  const pending = (await runs.listUnits(input.runId)).filter((u) => u.outcome === 'pending');
  const byMailbox = new Map<string, RunUnitRow[]>();
  for (const unit of pending) byMailbox.set(unit.mailboxId, [...(byMailbox.get(unit.mailboxId) ?? []), unit]);
  let mailboxes = 0;
  for (const [mailboxId, units] of byMailbox) {
    const unitsBlob = `${input.runId}/units/${mailboxId}.json`;
    // In item-key order, as the unit rows are stored: a step's units are then one row-key range.
    const ordered = [...units].sort((a, b) => (a.itemKey < b.itemKey ? -1 : a.itemKey > b.itemKey ? 1 : 0));
    const list: UnitList = {
      mailbox: { objectId: mailboxId, userPrincipalName: units[0].mailbox },
      units: ordered.map((u) => ({ itemKey: u.itemKey, itemId: u.itemId, itemType: u.type })),
    };
    // A retried plan never rewrites a list a chain is already reading by offset.
    await blobs.putText('runs', unitsBlob, JSON.stringify(list), 'application/json', { ifAbsent: true });
    if (!(await runs.markMailboxPlanned(input.runId, mailboxId))) {
      // Planned before this (a retried plan): start the chain again only if it never moved, since the first
      // message may have been lost with the worker that planned it; a second one is harmless, its step carries the chain on once.
      if ((await runs.chain(input.runId, mailboxId))?.from !== undefined) continue;
    }
    await queues.import.send({ runId: input.runId, mailboxId, unitsBlob, offset: 0 });
    mailboxes++;
  }
  return { mailboxes, units: pending.length };
}

/** Where a message stands in its chain: list offsets first, then one step per sweep. */
function positionOf(message: ImportMessage): number {
  return message.offset + (message.sweep ?? 0);
}

function rowOf(list: UnitList, unit: ImportUnit): RunUnitRow {
  return unitRow(list.mailbox, unit.itemKey, { id: unit.itemId, type: unit.itemType });
}

/** The outcome row a result records; undefined for `held` (not final: the unit stays pending). */
function outcomeRow(row: RunUnitRow, result: UnitResult): RunUnitRow | undefined {
  if (result.outcome === 'held') return undefined;
  if (result.outcome === 'partial' || result.outcome === 'failed') return { ...row, outcome: result.outcome, reason: result.reason, detail: result.detail };
  return { ...row, outcome: result.outcome };
}

/** Imports `units` (those still pending) in small steps until the budget's deadline; returns how many of them it reached. */
async function importSteps(context: ActivityContext, runId: string, list: UnitList, units: readonly ImportUnit[], known: (step: readonly ImportUnit[]) => Promise<Map<string, StoredUnit>>, deadline: number): Promise<number> {
  const { deps } = context;
  let next = 0;
  while (next < units.length && Date.now() < deadline) {
    const step = units.slice(next, next + IMPORT_STEP_UNITS);
    const stored = await known(step);
    // After a crash some units already have their outcome: only the rest go to Graph.
    const todo = step.filter((u) => (stored.get(u.itemKey)?.row.outcome ?? 'pending') === 'pending');
    if (todo.length > 0) {
      const results = await deps.importer().importUnits(runId, list.mailbox, todo);
      await Promise.all(
        results.map((result) => {
          const unit = todo.find((u) => u.itemKey === result.itemKey)!;
          const row = outcomeRow(rowOf(list, unit), result);
          return row ? deps.runs.setUnitOutcome(runId, row, stored.get(unit.itemKey)) : undefined;
        }),
      );
    }
    next += step.length;
  }
  return next;
}

/** Carries the chain on to `next` (a later offset, or a sweep), unless another worker already did. */
async function carryOn(context: ActivityContext, message: ImportMessage, next: ImportMessage, delayInSeconds = 0): Promise<void> {
  const { runs, queues } = context.deps;
  if (await runs.advanceChain(message.runId, message.mailboxId, positionOf(message), positionOf(next), next)) await queues.import.send(next, delayInSeconds);
}

/** One step of a mailbox's chain: its next units, or a sweep of those still pending; then the chain goes on or ends. */
async function importChainStep(context: ActivityContext, message: StageMessage<ImportMessage>): Promise<void> {
  const { deps } = context;
  const { queues, runs, settings } = deps;
  const body = message.body;
  const { runId, mailboxId, offset } = body;
  const sweep = body.sweep ?? 0;
  const chain = await runs.chain<ImportMessage>(runId, mailboxId);
  if (chain !== undefined && chain.position > positionOf(body)) {
    // A redelivered message whose step was finished and carried on. If it was this very step, the worker
    // may have died before it sent the next message: send it again (a second copy carries the chain on once).
    if (chain.from === positionOf(body) && chain.next) await queues.import.send(chain.next);
    await queues.import.complete(message);
    return;
  }
  const list = JSON.parse(await deps.blobs.getText('runs', body.unitsBlob)) as UnitList;
  // Small steps under a time budget: big items paced at 150 MB per 5 minutes must not outrun the function timeout.
  const deadline = Date.now() + settings.IMPORT_ACTIVITY_BUDGET_SECONDS * 1000;
  if (offset < list.units.length) {
    const end = Math.min(list.units.length, offset + settings.IMPORT_UNITS_PER_ACTIVITY);
    const slice = list.units.slice(offset, end);
    // The list is in item-key order: a step's rows are one row-key range.
    const reached = await importSteps(context, runId, list, slice, async (step) => new Map(
      (await runs.listStoredUnits(runId, mailboxId, { fromItemKey: step[0].itemKey, toItemKey: step[step.length - 1].itemKey })).map((u) => [u.row.itemKey, u]),
    ), deadline);
    const next = offset + reached;
    if (next < list.units.length) {
      await carryOn(context, body, { ...body, offset: next });
      await queues.import.complete(message);
      return;
    }
  } else {
    const stored = new Map((await runs.listStoredUnits(runId, mailboxId)).map((u) => [u.row.itemKey, u]));
    const pending = list.units.filter((u) => stored.get(u.itemKey)?.row.outcome === 'pending');
    await importSteps(context, runId, list, pending, async () => stored, deadline);
  }
  // The end of the list: units still pending are held by another worker (or were out of budget).
  const stillPending = (await runs.listStoredUnits(runId, mailboxId)).filter((u) => u.row.outcome === 'pending');
  if (stillPending.length > 0) {
    const heldSince = body.heldSince ?? new Date().toISOString();
    if (Date.now() - Date.parse(heldSince) > HELD_GIVE_UP_IN_MS * settings.RETRY_TIME_SCALE) {
      const detail = `another worker held the unit since ${heldSince}`;
      await Promise.all(stillPending.map((u) => runs.setUnitOutcome(runId, { ...u.row, outcome: 'failed', reason: 'held-by-other', detail }, u)));
    } else {
      const delay = queueDelayInSeconds((settings.IMPORT_LEASE_SECONDS * settings.RETRY_TIME_SCALE) / 2);
      await carryOn(context, body, { ...body, offset: list.units.length, sweep: sweep + 1, heldSince }, delay);
    }
  }
  await queues.import.complete(message);
}

/** Imports the next units of one mailbox's chain under a time budget, then hands the rest of the chain on. */
export async function importMailbox(context: ActivityContext): Promise<StageBatchResult> {
  const { deps, leaseRenewalInMs } = context;
  const { queues, runs } = deps;
  const batch = await queues.import.receive(1);
  for (const message of batch.poisoned) {
    const { runId, offset } = message.body;
    const list = await deps.blobs.getText('runs', message.body.unitsBlob).then((t) => JSON.parse(t) as UnitList).catch(() => undefined);
    if (list) {
      const stored = new Map((await runs.listStoredUnits(runId, list.mailbox.objectId)).map((u) => [u.row.itemKey, u]));
      // A poisoned step leaves its units from its offset, a poisoned sweep all of them; only those still pending fail.
      for (const unit of list.units.slice(offset < list.units.length ? offset : 0)) {
        const current = stored.get(unit.itemKey);
        if (current && current.row.outcome !== 'pending') continue;
        await runs.setUnitOutcome(runId, { ...rowOf(list, unit), outcome: 'failed', reason: 'poisoned', detail: `import failed ${message.dequeueCount} times` }, current);
      }
    }
    await queues.import.poison(message, 'poisoned');
  }
  const done = await forEachMessage(context, queues.import, batch.fresh, (message) =>
    withRenewedLease(queues.import, message, leaseRenewalInMs, () => importChainStep(context, message)),
  );
  return batchResult(batch, done);
}
