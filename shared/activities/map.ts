/**
 * The mapping stage: routes a batch of converted items to mailboxes (one
 * directory lookup for the batch): one import unit per distinct mailbox, or
 * the item is unmapped, with the numbers that found no user.
 */
import { describeError } from '../errors';
import { maskPhone } from '../phone';
import { batchResult, forEachMessage, poisonItems, unitRow } from './batch';
import type { ActivityContext, StageBatchResult } from './types';

/** Routes converted items to mailboxes: import units, or unmapped. */
export async function mapItems(context: ActivityContext): Promise<StageBatchResult> {
  const { deps, log } = context;
  const { queues, runs, staging, settings } = deps;
  const batch = await queues.map.receive(settings.QUEUE_BATCH_SIZE);
  await poisonItems(context, queues.map, batch.poisoned, 'mapping');
  if (batch.fresh.length === 0) return batchResult(batch, 0);
  let done = 0;
  try {
    const staged = await Promise.all(batch.fresh.map((m) => staging.readStagedItem(m.body.itemKey)));
    const router = await deps.router();
    const routings = await router.routeMany(staged.map((s) => s.item));
    done = await forEachMessage(context, queues.map, batch.fresh, async (message) => {
      const i = batch.fresh.indexOf(message);
      const { runId, itemKey: key } = message.body;
      const { item } = staged[i];
      const routing = routings[i];
      if (routing.mailboxes.length === 0) {
        await runs.setItemOutcome(runId, {
          itemKey: key, itemId: item.id, type: item.type, outcome: 'unmapped', reason: 'unmapped',
          detail: `no Microsoft 365 user for ${routing.unmappedNumbers.map(maskPhone).join(', ')}`,
          unmappedNumbers: routing.unmappedNumbers,
        });
      } else {
        await runs.addUnits(runId, routing.mailboxes.map((mailbox) => unitRow(mailbox, key, item)));
        await runs.setItemOutcome(runId, { itemKey: key, itemId: item.id, type: item.type, outcome: 'routed' });
      }
      await queues.map.complete(message);
    });
  } catch (e) {
    // The directory or the mapping could not be read: the whole batch waits for redelivery.
    log.warn(`mapping batch left for redelivery: ${describeError(e)}`);
  }
  return batchResult(batch, done);
}
