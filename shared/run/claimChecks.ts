/**
 * What each stage's queue must hold: the fields of its claim check that the
 * stage reads (shared/run/messages.ts has the full shapes). A message
 * without them can never be worked, so the queue sets it aside at once
 * (shared/platform/queues.ts) rather than hand it to a stage that would read
 * `undefined` where a run or mailbox id should be.
 */
import type { StageName } from '../platform/names';

type Shape = Record<string, 'string' | 'number' | 'object'>;

const SHAPES: Record<StageName, Shape> = {
  fetch: { runId: 'string', slice: 'object' },
  stage: { runId: 'string', pageBlob: 'string' },
  convert: { runId: 'string', batchBlob: 'string' },
  map: { runId: 'string', batchBlob: 'string' },
  import: { runId: 'string', mailboxId: 'string', mailbox: 'string', step: 'number', pass: 'number' },
};

/** True when `body` has every field the stage's claim check needs, each of the right type and not empty. */
export function isClaimCheck(stage: StageName, body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const fields = body as Record<string, unknown>;
  return Object.entries(SHAPES[stage]).every(([name, type]) =>
    typeof fields[name] === type && fields[name] !== null && (type !== 'string' || (fields[name] as string).length > 0));
}
