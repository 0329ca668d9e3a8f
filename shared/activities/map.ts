/**
 * The mapping stage, a converted batch at a time: routes its items to
 * mailboxes (one directory lookup for the batch): one import unit per
 * distinct mailbox, each with its email, or the item is unmapped, with the
 * numbers that found no user.
 */
import { maskPhone } from '../model/phone';
import type { NewUnit, RunItemRow } from '../run/runs';
import type { ResolvedMailbox } from '../model/stages';
import { withRenewedLease } from '../platform/queues';
import { batchResult, forEachMessage, poisonBatches, unitRow } from './batch';
import type { ConvertedBatch, RunRef, StageBatchResult } from '../run/messages';
import type { ActivityContext } from './types';

/** Converted batches taken at once by one mapping activity. */
export const BATCHES_PER_MAP_ACTIVITY = 2;

/** Routes converted items to mailboxes: import units (with their emails), or unmapped. */
export async function mapItems(context: ActivityContext, { runId }: RunRef): Promise<StageBatchResult & { units: number }> {
  const { deps } = context;
  const { runs, staging } = deps;
  const queues = deps.queues.of(runId);
  const batch = await queues.map.receive(BATCHES_PER_MAP_ACTIVITY);
  await poisonBatches(context, queues.map, batch.poisoned, 'mapping');
  let units = 0;
  const total = await forEachMessage(context, queues.map, batch.fresh, (message) => withRenewedLease(queues.map, message, context.leaseRenewalInMs, async () => {
    const converted = await staging.readBatch<ConvertedBatch>(message.body.batchBlob);
    // The directory or the mapping could not be read: the whole batch waits for redelivery (thrown).
    const routings = await (await deps.router()).routeMany(converted.items.map((c) => c.item));
    const newUnits: NewUnit[] = [];
    const mailboxes = new Map<string, ResolvedMailbox>();
    const fields: RunItemRow[] = converted.items.map(({ itemKey: key, item, email }, i) => {
      const routing = routings[i];
      const identity = { itemKey: key, itemId: item.id, type: item.type, converted: message.body.batchBlob };
      if (routing.mailboxes.length === 0) {
        return {
          ...identity, outcome: 'unmapped', reason: 'unmapped',
          detail: `no Microsoft 365 user for ${routing.unmappedNumbers.map(maskPhone).join(', ')}`,
          unmappedNumbers: routing.unmappedNumbers,
        };
      }
      for (const mailbox of routing.mailboxes) {
        mailboxes.set(mailbox.objectId, mailbox);
        newUnits.push({ row: unitRow(mailbox, key, item), email, convertedBatch: message.body.batchBlob });
      }
      return { ...identity, outcome: 'routed' };
    });
    await runs.addUnits(runId, newUnits);
    await runs.noteMailboxes(runId, [...mailboxes.values()]);
    // Outcomes last: an item counts as routed only once its units are there.
    await runs.setItemFields(runId, fields);
    await queues.map.complete(message);
    units += newUnits.length;
    return { sent: 0, items: converted.items.length };
  }));
  return { ...batchResult(batch, total), units };
}
