/**
 * What every stage activity does with the messages it takes: work each one,
 * leave failures for redelivery, and turn poisoned messages into outcomes.
 */
import { createHash } from 'node:crypto';
import { describeError } from '../model/errors';
import { itemKey, RAW_KEY_PREFIX, type ItemType } from '../model/item';
import type { ReceivedBatch, StageMessage, StageQueue } from '../platform/queues';
import type { RunItemRow, RunUnitRow } from '../run/runs';
import type { ResolvedMailbox } from '../model/stages';
import type { BatchMessage, ConvertedBatch, StageBatchResult, StagedBatch } from '../run/messages';
import type { ActivityContext } from './types';

/** What finishing one message did: messages it sent on, items it carried. */
export interface MessageDone {
  sent: number;
  items: number;
}

/**
 * Runs `work` for each fresh message at once; a failure leaves its message
 * for redelivery. Returns the counts of the messages that finished.
 */
export async function forEachMessage<T>(
  context: ActivityContext,
  queue: StageQueue<T>,
  messages: StageMessage<T>[],
  work: (m: StageMessage<T>) => Promise<MessageDone>,
): Promise<{ done: number; sent: number; items: number }> {
  const total = { done: 0, sent: 0, items: 0 };
  await Promise.all(
    messages.map(async (message) => {
      try {
        const done = await work(message);
        total.done++;
        total.sent += done.sent;
        total.items += done.items;
      } catch (e) {
        // Worth retrying: the message becomes visible again after its lease, up to the dequeue limit.
        context.log.warn(`${queue.queue.name}: message ${message.messageId} left for redelivery: ${describeError(e)}`);
      }
    }),
  );
  return total;
}

/** The counts an activity returns for a batch of messages. */
export function batchResult<T>(batch: ReceivedBatch<T>, total: { done: number; sent: number; items: number }): StageBatchResult {
  return { taken: batch.fresh.length + batch.poisoned.length + batch.malformed, done: total.done, poisoned: batch.poisoned.length + batch.malformed, sent: total.sent, items: total.items };
}

/** The items a batch message carries, as far as its blob can be read (a poisoned message's may not be). */
async function itemsOf(context: ActivityContext, message: BatchMessage): Promise<Pick<RunItemRow, 'itemKey' | 'itemId' | 'type'>[]> {
  const batch = await context.deps.staging.readBatch<StagedBatch | ConvertedBatch>(message.batchBlob).catch(() => undefined);
  return (batch?.items ?? []).map((i) => ({ itemKey: 'itemKey' in i ? i.itemKey : itemKey(i.item.id), itemId: i.item.id, type: i.item.type }));
}

/** Records the items of each poisoned batch message as failed (unless a stage already gave them an outcome), then moves it to the poison queue. */
export async function poisonBatches(context: ActivityContext, queue: StageQueue<BatchMessage>, messages: StageMessage<BatchMessage>[], stage: string): Promise<void> {
  const { runs } = context.deps;
  for (const message of messages) {
    for (const item of await itemsOf(context, message.body)) {
      await runs.setItemOutcomeIfNone(message.body.runId, { ...item, outcome: 'itemFailed', reason: 'poisoned', detail: `${stage} failed ${message.dequeueCount} times` });
    }
    await queue.poison(message, 'poisoned');
  }
}

/** A pending unit row of an item for a mailbox. */
export function unitRow(mailbox: ResolvedMailbox, key: string, item: { id: string; type: ItemType }): RunUnitRow {
  return { mailboxId: mailbox.objectId, mailbox: mailbox.userPrincipalName, itemKey: key, itemId: item.id, type: item.type, outcome: 'pending' };
}

const ITEM_TYPES: readonly string[] = ['sms', 'mms', 'voice'];

/** The item key, id and type of a raw record as far as they can be read before validation. */
export function recordIdentity(raw: unknown): { itemKey: string; itemId: string | null; type: ItemType | 'unknown' } {
  const record = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const id = typeof record.id === 'string' && record.id.length > 0 && record.id.length <= 256 ? record.id : null;
  const type = typeof record.type === 'string' && ITEM_TYPES.includes(record.type) ? (record.type as ItemType) : 'unknown';
  // A record with no usable id counts once, by its content.
  const key = id !== null ? itemKey(id) : RAW_KEY_PREFIX + createHash('sha256').update(JSON.stringify(raw ?? null)).digest('hex');
  return { itemKey: key, itemId: id, type };
}

/** A batch's blob name from the page it came from: unique per delivery of the page. */
export function batchName(pageBlob: string): string {
  return pageBlob.replace(/^.*\//, '').replace(/\.json$/, '');
}
