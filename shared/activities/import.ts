/**
 * The import stage: the run's units grouped by mailbox into one chain of
 * import messages per mailbox (so at most one import activity per mailbox is
 * in flight), each activity importing the next units of its mailbox.
 */
import { withRenewedLease } from '../queues';
import type { RunUnitRow } from '../runs';
import type { ImportUnit } from '../stages';
import { batchResult, forEachMessage, unitRow } from './batch';
import type { ActivityContext, ImportMessage, PlanImportResult, RunRef, StageBatchResult, UnitList } from './types';

/** Units handed to the importer at once, between checks of the activity's time budget. */
const IMPORT_STEP_UNITS = 16;

/** Groups the run's pending units by mailbox and starts one import chain per mailbox. */
export async function planImport({ deps }: ActivityContext, input: RunRef): Promise<PlanImportResult> {
  const { runs, queues, blobs } = deps;
  const pending = (await runs.listUnits(input.runId)).filter((u) => u.outcome === 'pending');
  const byMailbox = new Map<string, RunUnitRow[]>();
  for (const unit of pending) byMailbox.set(unit.mailboxId, [...(byMailbox.get(unit.mailboxId) ?? []), unit]);
  let mailboxes = 0;
  for (const [mailboxId, units] of byMailbox) {
    if (!(await runs.markMailboxPlanned(input.runId, mailboxId))) continue;
    const unitsBlob = `${input.runId}/units/${mailboxId}.json`;
    const list: UnitList = {
      mailbox: { objectId: mailboxId, userPrincipalName: units[0].mailbox },
      units: units.map((u) => ({ itemKey: u.itemKey, itemId: u.itemId, itemType: u.type })),
    };
    await blobs.putText('runs', unitsBlob, JSON.stringify(list), 'application/json');
    await queues.import.send({ runId: input.runId, mailboxId, unitsBlob, offset: 0 });
    mailboxes++;
  }
  return { mailboxes, units: pending.length };
}

/** Imports the next units of one mailbox's chain under a time budget, then hands the rest of the chain on. */
export async function importMailbox(context: ActivityContext): Promise<StageBatchResult> {
  const { deps, leaseRenewalInMs } = context;
  const { queues, runs, settings } = deps;
  const readUnitList = async (message: ImportMessage) => JSON.parse(await deps.blobs.getText('runs', message.unitsBlob)) as UnitList;
  const batch = await queues.import.receive(1);
  for (const message of batch.poisoned) {
    const list = await readUnitList(message.body).catch(() => undefined);
    for (const unit of list?.units.slice(message.body.offset) ?? []) {
      await runs.setUnitOutcome(message.body.runId, {
        ...unitRow(list!.mailbox, unit.itemKey, { id: unit.itemId, type: unit.itemType }),
        outcome: 'failed', reason: 'poisoned', detail: `import failed ${message.dequeueCount} times`,
      });
    }
    await queues.import.poison(message, 'poisoned');
  }
  const done = await forEachMessage(context, queues.import, batch.fresh, (message) =>
    withRenewedLease(queues.import, message, leaseRenewalInMs, async () => {
      const { runId, offset } = message.body;
      const list = await readUnitList(message.body);
      const end = Math.min(list.units.length, offset + settings.IMPORT_UNITS_PER_ACTIVITY);
      const current = new Map((await runs.listUnitsOfMailbox(runId, list.mailbox.objectId)).map((u) => [u.itemKey, u]));
      // After a crash some units already have their outcome: only the rest go to Graph.
      const pending = (u: ImportUnit) => (current.get(u.itemKey)?.outcome ?? 'pending') === 'pending';
      // Small steps under a time budget: big items paced at 150 MB per 5 minutes must not outrun the function timeout.
      const deadline = Date.now() + settings.IMPORT_ACTIVITY_BUDGET_SECONDS * 1000;
      let next = offset;
      while (next < end && Date.now() < deadline) {
        const step = list.units.slice(next, Math.min(end, next + IMPORT_STEP_UNITS));
        const todo = step.filter(pending);
        if (todo.length > 0) {
          const results = await deps.importer().importUnits(runId, list.mailbox, todo);
          await Promise.all(
            results.map((result) => {
              const unit = todo.find((u) => u.itemKey === result.itemKey)!;
              const row = unitRow(list.mailbox, unit.itemKey, { id: unit.itemId, type: unit.itemType });
              if (result.outcome === 'partial' || result.outcome === 'failed') {
                return runs.setUnitOutcome(runId, { ...row, outcome: result.outcome, reason: result.reason, detail: result.detail });
              }
              return runs.setUnitOutcome(runId, { ...row, outcome: result.outcome });
            }),
          );
        }
        next += step.length;
      }
      if (next < list.units.length) await queues.import.send({ ...message.body, offset: next });
      await queues.import.complete(message);
    }),
  );
  return batchResult(batch, done);
}
