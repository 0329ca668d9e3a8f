/**
 * The staging stage: claims each raw record for the run (the same id twice
 * is one item), validates it, sets an invalid one aside with its reason, and
 * stages a valid item and its media in blob storage.
 */
import type { StageMessage } from '../queues';
import { batchResult, forEachMessage, recordIdentity } from './batch';
import type { ActivityContext, StageBatchResult, StageRecordMessage } from './types';

/** Validates records, sets invalid ones aside, stages valid items and their media. */
export async function stageItems(context: ActivityContext): Promise<StageBatchResult> {
  const { deps } = context;
  const { queues, runs, staging, settings } = deps;
  const batch = await queues.stage.receive(settings.QUEUE_BATCH_SIZE);
  const pages = new Map<string, Promise<unknown[]>>();
  const readRecord = async (m: StageMessage<StageRecordMessage>) => {
    if (!pages.has(m.body.pageBlob)) pages.set(m.body.pageBlob, staging.readRawPage(m.body.pageBlob));
    return (await pages.get(m.body.pageBlob)!)[m.body.index];
  };
  for (const message of batch.poisoned) {
    const raw = await readRecord(message).catch(() => undefined);
    const identity = recordIdentity(raw);
    const claim = await runs.claimItem(message.body.runId, identity, message.messageId);
    if (claim !== 'duplicate') {
      await runs.setItemOutcomeIfNone(message.body.runId, { ...identity, outcome: 'itemFailed', reason: 'poisoned', detail: `staging failed ${message.dequeueCount} times` });
    }
    await queues.stage.poison(message, 'poisoned');
  }
  const done = await forEachMessage(context, queues.stage, batch.fresh, async (message) => {
    const { runId } = message.body;
    const raw = await readRecord(message);
    const identity = recordIdentity(raw);
    const claim = await runs.claimItem(runId, identity, message.messageId);
    if (claim === 'duplicate') {
      // The same id on two pages or in two slices is one item.
      await queues.stage.complete(message);
      return;
    }
    const validation = deps.validateRecord(raw);
    if (!validation.ok) {
      await staging.putInvalidRecord(runId, raw, validation.detail);
      await runs.setItemOutcome(runId, { ...identity, itemId: validation.itemId, type: validation.type, outcome: 'invalid', reason: 'invalid', detail: validation.detail });
    } else {
      const staged = await staging.stageItem(validation.item, validation.sourceSha256, deps.source());
      if (staged.ok) await queues.convert.send({ runId, itemKey: identity.itemKey });
      else await runs.setItemOutcome(runId, { ...identity, outcome: 'itemFailed', reason: staged.reason, detail: staged.detail });
    }
    await queues.stage.complete(message);
  });
  return batchResult(batch, done);
}
