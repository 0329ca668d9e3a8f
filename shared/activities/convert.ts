/**
 * The conversion stage, a batch at a time: the size rule first, then each
 * item's email, streamed into blob storage beside the item as the archival
 * .eml; the batch's emails (as data, for mapping and the Graph import) go on
 * as one converted batch.
 */
import { describeError, isArchiverError } from '../model/errors';
import { isTransient } from '../platform/tables';
import { itemKey, itemSizeInBytes } from '../model/item';
import type { RunItemRow } from '../run/runs';
import { withRenewedLease } from '../platform/queues';
import { withinLargeItemBudget } from '../platform/largeItems';
import { batchName, batchResult, forEachMessage, poisonBatches } from './batch';
import { mapLimited } from './limit';
import type { ConvertedBatch, ConvertedItem, RunRef, StageBatchResult, StagedBatch } from '../run/messages';
import type { ActivityContext } from './types';

/** Items converted at once: their media stream, so memory stays bounded by this, not by the batch. */
const CONVERT_CONCURRENCY = 8;

/** Converts a batch of staged items to .eml (the size rule first) and hands the converted batch to mapping. */
export async function convertItems(context: ActivityContext, { runId }: RunRef): Promise<StageBatchResult> {
  const { deps } = context;
  const { runs, staging } = deps;
  const queues = deps.queues.of(runId);
  const batch = await queues.convert.receive(1);
  await poisonBatches(context, queues.convert, batch.poisoned, 'conversion');
  const total = await forEachMessage(context, queues.convert, batch.fresh, (message) => withRenewedLease(queues.convert, message, context.leaseRenewalInMs, async () => {
    const staged = await staging.readBatch<StagedBatch>(message.body.batchBlob);
    const failures: RunItemRow[] = [];
    const converted = (
      await mapLimited(staged.items, CONVERT_CONCURRENCY, async (item): Promise<ConvertedItem | undefined> => {
        const key = itemKey(item.item.id);
        const identity = { itemKey: key, itemId: item.item.id, type: item.item.type };
        try {
          return await withinLargeItemBudget(itemSizeInBytes(item.item), async () => {
            const result = await deps.convertItem(item, (mediaId) => staging.openMedia(key, mediaId));
            if (!result.ok) {
              failures.push({ ...identity, outcome: result.reason === 'too-large' ? 'tooLarge' : 'itemFailed', reason: result.reason, detail: result.detail });
              return undefined;
            }
            const emlSizeInBytes = await staging.putItemBlob(key, 'message.eml', result.eml, 'message/rfc822');
            return { itemKey: key, item: item.item, email: { ...result.email, emlSizeInBytes } };
          });
        } catch (e) {
          // Storage that failed (or timed out) is worth the batch's retry; anything else is this item's failure,
          // so one item never holds up (or poisons) the rest of its batch.
          if (isTransient(e)) throw e;
          // Media are verified again as they stream into the .eml: staged bytes that changed are the item's failure.
          const mismatch = isArchiverError(e, 'MEDIA_CHECKSUM_MISMATCH');
          const missing = isArchiverError(e, 'NOT_FOUND') || isArchiverError(e, 'MEDIA_MISSING');
          const reason = mismatch ? 'media-checksum-mismatch' : missing ? 'media-missing' : 'conversion-error';
          failures.push({ ...identity, outcome: 'itemFailed', reason, detail: describeError(e) });
          return undefined;
        }
      })
    ).filter((c): c is ConvertedItem => c !== undefined);
    await runs.setItemFields(runId, failures);
    let sent = 0;
    if (converted.length > 0) {
      const convertedBatch: ConvertedBatch = { runId, items: converted };
      const batchBlob = await staging.putBatch(runId, 'converted', batchName(message.body.batchBlob), convertedBatch);
      await queues.map.send({ runId, batchBlob, items: converted.length });
      sent = 1;
    }
    await queues.convert.complete(message);
    return { sent, items: converted.length };
  }));
  return batchResult(batch, total);
}
