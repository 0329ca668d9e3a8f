/**
 * A stage queue of claim checks: receive a batch under a lease (the
 * visibility timeout), complete what was done, renew a long lease, and move
 * messages that failed too often to the stage's poison queue.
 */
import { createHash } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import { QueueNames, type StageName } from './names';

export interface StageMessage<T> {
  body: T;
  messageId: string;
  popReceipt: string;
  dequeueCount: number;
}

export interface ReceivedBatch<T> {
  /** Messages to work on. */
  fresh: StageMessage<T>[];
  /** Messages dequeued more often than the limit: the caller records the failure, then `poison`s them. */
  poisoned: StageMessage<T>[];
  /** Messages that were no claim check of this stage: already moved to the poison queue, reason `malformed`. */
  malformed: number;
}

export interface QueueDepth {
  /** All messages, leased and delayed ones included (Azure's approximate count). */
  approximate: number;
}

export interface StageQueueOptions {
  visibilityTimeoutInSeconds: number;
  maxDequeueCount: number;
  /**
   * Whether a message body is a claim check this stage can work. Any other
   * message (not JSON, or missing what the stage reads) can never succeed:
   * it is set aside at once, so it neither waits out the dequeue limit nor
   * reaches a handler that would read fields it lacks.
   */
  accepts?: (body: unknown) => boolean;
}

export class StageQueue<T> {
  constructor(
    readonly queue: QueueClient,
    readonly poisonQueue: QueueClient,
    private readonly options: StageQueueOptions,
  ) {}

  /** Creates the queue and its poison queue when missing. */
  async ensure(): Promise<void> {
    await Promise.all([this.queue.createIfNotExists(), this.poisonQueue.createIfNotExists()]);
  }

  /** Puts one claim check on the queue; with `delayInSeconds` it becomes visible only then. */
  async send(body: T, delayInSeconds = 0): Promise<void> {
    await this.queue.sendMessage(JSON.stringify(body), delayInSeconds > 0 ? { visibilityTimeout: queueDelayInSeconds(delayInSeconds) } : undefined);
  }

  /** Puts many claim checks on the queue, a few at a time. */
  async sendMany(bodies: readonly T[], concurrency = 16): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < bodies.length) await this.send(bodies[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, bodies.length) }, worker));
  }

  /** Takes up to `max` messages under a lease of the visibility timeout. */
  async receive(max: number): Promise<ReceivedBatch<T>> {
    const response = await this.queue.receiveMessages({
      numberOfMessages: Math.min(32, Math.max(1, max)),
      visibilityTimeout: this.options.visibilityTimeoutInSeconds,
    });
    const batch: ReceivedBatch<T> = { fresh: [], poisoned: [], malformed: 0 };
    for (const m of response.receivedMessageItems) {
      const message: StageMessage<T> = {
        body: parseBody<T>(m.messageText),
        messageId: m.messageId,
        popReceipt: m.popReceipt,
        dequeueCount: m.dequeueCount,
      };
      if (this.options.accepts && !this.options.accepts(message.body)) {
        await this.poison(message, 'malformed: not a claim check of this stage');
        batch.malformed++;
        continue;
      }
      (m.dequeueCount > this.options.maxDequeueCount ? batch.poisoned : batch.fresh).push(message);
    }
    return batch;
  }

  /** Deletes a finished message. */
  async complete(message: StageMessage<T>): Promise<void> {
    await this.queue.deleteMessage(message.messageId, message.popReceipt);
  }

  /** Extends the lease of a message still being worked on. */
  async renew(message: StageMessage<T>): Promise<void> {
    const result = await this.queue.updateMessage(
      message.messageId,
      message.popReceipt,
      undefined,
      this.options.visibilityTimeoutInSeconds,
    );
    message.popReceipt = result.popReceipt!;
  }

  /** Moves a message to the poison queue with the reason, and deletes it here. */
  async poison(message: StageMessage<T>, reason: string): Promise<void> {
    await this.poisonQueue.sendMessage(JSON.stringify({ body: message.body, dequeueCount: message.dequeueCount, reason }));
    await this.complete(message);
  }

  /** How much work waits or is leased (Azure's approximate count: one request). */
  async depth(): Promise<QueueDepth> {
    const properties = await this.queue.getProperties();
    return { approximate: properties.approximateMessagesCount ?? 0 };
  }
}

/** A delay as a queue message's initial invisibility: whole seconds, at least one. */
export function queueDelayInSeconds(seconds: number): number {
  return Math.max(1, Math.ceil(seconds));
}

function parseBody<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    // A message that is not ours (or was mangled) still has to be set aside, not lost.
    return { unparsable: text } as unknown as T;
  }
}

/** Keeps a message's lease alive while `work` runs. */
export async function withRenewedLease<T, R>(
  queue: StageQueue<T>,
  message: StageMessage<T>,
  everyInMs: number,
  work: () => Promise<R>,
): Promise<R> {
  const timer = setInterval(() => queue.renew(message).catch(() => undefined), everyInMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * A run's own queue for a stage, `o2-<stage>-<run id>`: lower-case letters,
 * digits and single hyphens, at most 63 characters (Azure's rules); a long
 * run id is cut and told apart by a hash of it.
 */
export function runQueueName(stage: StageName, runId: string): string {
  let key = runId.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  const room = 63 - QueueNames[stage].length - 1;
  if (key.length > room || key.length === 0) key = `${key.slice(0, room - 9).replace(/-+$/, '')}-${createHash('sha256').update(runId).digest('hex').slice(0, 8)}`.replace(/^-/, '');
  return `${QueueNames[stage]}-${key}`;
}
