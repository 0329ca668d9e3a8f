/**
 * The conversion stage: the size rule first, then the email, streamed into
 * blob storage beside the staged item as the archival .eml, with its data
 * form (`message.json`) for the Graph import.
 */
import { describeError, isArchiverError } from '../errors';
import { batchResult, forEachMessage, poisonItems } from './batch';
import type { ActivityContext, StageBatchResult } from './types';

/** Converts staged items to .eml (the size rule first) and hands them to mapping. */
export async function convertItems(context: ActivityContext): Promise<StageBatchResult> {
  const { deps } = context;
  const { queues, runs, staging, settings } = deps;
  const batch = await queues.convert.receive(Math.min(8, settings.QUEUE_BATCH_SIZE));
  await poisonItems(context, queues.convert, batch.poisoned, 'conversion');
  const done = await forEachMessage(context, queues.convert, batch.fresh, async (message) => {
    const { runId, itemKey: key } = message.body;
    const staged = await staging.readStagedItem(key);
    const identity = { itemKey: key, itemId: staged.item.id, type: staged.item.type };
    const result = await deps.convertItem(staged, (mediaId) => staging.openMedia(key, mediaId));
    if (!result.ok) {
      await runs.setItemOutcome(runId, {
        ...identity, outcome: result.reason === 'too-large' ? 'tooLarge' : 'itemFailed', reason: result.reason, detail: result.detail,
      });
      await queues.convert.complete(message);
      return;
    }
    let emlSizeInBytes: number;
    try {
      emlSizeInBytes = await staging.putItemBlob(key, 'message.eml', result.eml, 'message/rfc822');
    } catch (e) {
      // Media are verified again as they stream into the .eml: staged bytes that changed are the item's failure.
      if (!isArchiverError(e, 'MEDIA_CHECKSUM_MISMATCH')) throw e;
      await runs.setItemOutcome(runId, { ...identity, outcome: 'itemFailed', reason: 'media-checksum-mismatch', detail: describeError(e) });
      await queues.convert.complete(message);
      return;
    }
    await staging.putItemBlob(key, 'message.json', JSON.stringify({ ...result.email, emlSizeInBytes }), 'application/json');
    await queues.map.send({ runId, itemKey: key });
    await queues.convert.complete(message);
  });
  return batchResult(batch, done);
}
