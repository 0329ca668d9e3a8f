/**
 * What every stage activity does with a batch of messages: work each one,
 * leave failures for redelivery, and turn poisoned messages into outcomes.
 */
import { createHash } from 'node:crypto';
import { describeError } from '../errors';
import { itemKey, type ItemType } from '../item';
import type { ReceivedBatch, StageMessage, StageQueue } from '../queues';
import type { RunUnitRow } from '../runs';
import type { ResolvedMailbox } from '../stages';
import type { ActivityContext, ItemMessage, StageBatchResult } from './types';

/** Runs `work` for each fresh message at once; a failure leaves its message for redelivery. Returns how many finished. */
export async function forEachMessage<T>(
  context: ActivityContext,
  queue: StageQueue<T>,
  messages: StageMessage<T>[],
  work: (m: StageMessage<T>) => Promise<void>,
): Promise<number> {
  let done = 0;
  await Promise.all(
    messages.map(async (message) => {
      try {
        await work(message);
        done++;
      } catch (e) {
        // Worth retrying: the message becomes visible again after its lease, up to the dequeue limit.
        context.log.warn(`${queue.queue.name}: message ${message.messageId} left for redelivery: ${describeError(e)}`);
      }
    }),
  );
  return done;
}

/** The counts an activity returns for a batch. */
export function batchResult<T>(batch: ReceivedBatch<T>, done: number): StageBatchResult {
  return { taken: batch.fresh.length + batch.poisoned.length, done, poisoned: batch.poisoned.length };
}

/** Records each poisoned item message as the item's failure (unless a stage already gave it an outcome), then moves it to the poison queue. */
export async function poisonItems(
  context: ActivityContext,
  queue: StageQueue<ItemMessage>,
  messages: StageMessage<ItemMessage>[],
  stage: string,
): Promise<void> {
  const { staging, runs } = context.deps;
  for (const message of messages) {
    const { runId, itemKey: key } = message.body;
    const staged = await staging.readStagedItem(key).catch(() => undefined);
    await runs.setItemOutcomeIfNone(runId, {
      itemKey: key, itemId: staged?.item.id ?? null, type: staged?.item.type ?? 'unknown',
      outcome: 'itemFailed', reason: 'poisoned', detail: `${stage} failed ${message.dequeueCount} times`,
    });
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
  const key = id !== null ? itemKey(id) : 'raw-' + createHash('sha256').update(JSON.stringify(raw ?? null)).digest('hex');
  return { itemKey: key, itemId: id, type };
}
