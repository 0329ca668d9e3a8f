/**
 * Importing the email as Graph v1.0 message JSON: one create with the
 * attachments that fit inline, then each other attachment by a POST or an
 * upload session.
 *
 * Refused attachments (archived-email.md): a non-draft message's body cannot
 * be changed after it is created, so when Graph refuses an attachment for
 * good (a 4xx other than 401/408/429) the message is removed and created again
 * with the list of what is missing (name, size, SHA-256) in its body and the
 * attachments that were accepted; the unit is `partial`. A create refused
 * with inline attachments is tried once more with every attachment sent
 * separately, to learn which one Graph refuses.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ArchiverError } from '../../model/errors';
import type { ByteSource } from '../../platform/graph/client';
import { attachLargeFile, createMessage, postAttachment } from '../../platform/graph/mailbox';
import { isGraphRequestError, type GraphRequestError } from '../../platform/graph/errors';
import { graphRetry, withRetry } from '../../platform/retry';
import type { ArchivedAttachment } from '../../model/stages';
import { findCopies, removeCopy, settleSince } from './copies';
import { buildMessage, fileAttachment, MAX_REQUEST_BYTES, planAttachments, type GraphFileAttachment, type MissingAttachment } from './message';
import type { UnitWork } from './work';

/** What an import left in the mailbox: the message, and the attachments Graph refused. */
export interface Imported {
  messageId: string;
  missing: MissingAttachment[];
}

/** A 4xx that no retry will change (429 and 408 are transient, 401 is our credential, not the attachment). */
export function refusedForGood(error: unknown): error is GraphRequestError {
  if (!isGraphRequestError(error) || error.exhausted) return false;
  const s = error.statusCode ?? 0;
  return s >= 400 && s < 500 && s !== 401 && s !== 408 && s !== 429;
}

/** A failure after which the request may still have been carried out (no answer, or a gateway error). */
export function maybeApplied(error: unknown): boolean {
  if (!isGraphRequestError(error)) return false;
  const s = error.statusCode;
  return s === undefined || s === 500 || s === 502 || s === 504 || (error.exhausted && s !== 429 && s !== 503);
}

/** The error a failed create stands for: the Graph error itself, not the retry budget around it. */
export function lastError(error: unknown): unknown {
  return isGraphRequestError(error) ? error : ((error as { lastError?: unknown }).lastError ?? error);
}

/**
 * Sends a create that must not land twice: after an answer was lost it waits
 * out the settle period, looks in the archive folder, and sends again only
 * when the first did not land. `send` makes the one request.
 */
export async function createOnce(work: UnitWork, send: () => Promise<string>): Promise<string> {
  let lostAt = 0;
  return withRetry(
    async (attempt) => {
      if (attempt > 1) {
        await settleSince(work, lostAt);
        const [first, ...extra] = await findCopies(work);
        if (first) {
          // Every copy here came from the same create: keep one.
          for (const m of extra) await removeCopy(work, m.id);
          return first.id;
        }
      }
      work.created.sent = true;
      return send();
    },
    graphRetry,
    (error) => {
      const retry = maybeApplied(error);
      if (retry) lostAt = Date.now();
      return { retry };
    },
    { timeScale: work.timeScale, sleep: work.sleep },
  ).catch((error) => {
    throw lastError(error);
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

function mismatch(work: UnitWork): ArchiverError {
  return new ArchiverError('MEDIA_CHECKSUM_MISMATCH', `staged media of ${work.unit.itemKey} no longer matches its descriptor`);
}

/** The staged bytes of a small attachment, proved against its descriptor again: every mailbox's copy must carry the same bytes. */
async function readMedia(work: UnitWork, attachment: ArchivedAttachment): Promise<Buffer> {
  const bytes = await readAll(await work.staging.openMedia(work.unit.itemKey, attachment.mediaId));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== attachment.size || sha !== attachment.sha256.toLowerCase()) throw mismatch(work);
  return bytes;
}

/**
 * A large attachment as a byte source: proved against its descriptor first,
 * by streaming it through a hash (nothing is uploaded before the bytes are
 * known good), then read range by range as the upload goes, so that it is
 * never held whole. The ranges are read into one buffer, reused from range to
 * range (the upload sends a range before it reads the next): a buffer per
 * range would be megabytes of garbage each, held until the next GC.
 */
async function mediaSource(work: UnitWork, attachment: ArchivedAttachment): Promise<ByteSource> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of await work.staging.openMedia(work.unit.itemKey, attachment.mediaId)) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    hash.update(bytes);
    size += bytes.length;
  }
  if (size !== attachment.size || hash.digest('hex') !== attachment.sha256.toLowerCase()) throw mismatch(work);
  let buffer: Buffer | undefined;
  return {
    length: size,
    read: async (start, end) => {
      if (!buffer || buffer.length < end - start) buffer = Buffer.allocUnsafe(end - start);
      const range = await work.staging.readMediaRange(work.unit.itemKey, attachment.mediaId, start, end, buffer);
      // Verified a moment ago: a range that is not there in full means the blob changed under us.
      if (range.length !== end - start) throw mismatch(work);
      return range;
    },
  };
}

async function attachSeparately(work: UnitWork, messageId: string, attachment: ArchivedAttachment, route: 'post' | 'upload-session'): Promise<void> {
  // Both routes make sure a lost answer never adds the file twice nor turns a landed file into a refusal.
  if (route === 'post') {
    const bytes = await readMedia(work, attachment);
    await postAttachment(work.graph, work.mailboxId, messageId, { name: attachment.fileName, size: bytes.length, json: JSON.stringify(fileAttachment(attachment, bytes)) }, work.write);
    return;
  }
  await attachLargeFile(work.graph, work.mailboxId, messageId, { name: attachment.fileName, contentType: attachment.contentType }, await mediaSource(work, attachment), work.write);
}

function pickMissing(a: ArchivedAttachment): Omit<MissingAttachment, 'reason'> {
  return { mediaId: a.mediaId, fileName: a.fileName, size: a.size, sha256: a.sha256 };
}

/** Imports the email as JSON (Graph v1.0): see the module comment for refused attachments. */
export async function importJson(work: UnitWork): Promise<Imported> {
  const { email, unit } = work;
  const missing: MissingAttachment[] = [];
  let allowInline = true;
  for (let round = 0; round <= email.attachments.length + 1; round++) {
    const todo = email.attachments.filter((a) => !missing.some((m) => m.mediaId === a.mediaId));
    const routes = planAttachments(email, todo, { missing, allowInline });
    const inline: GraphFileAttachment[] = [];
    for (let i = 0; i < todo.length; i++) if (routes[i] === 'inline') inline.push(fileAttachment(todo[i], await readMedia(work, todo[i])));
    const body = JSON.stringify(buildMessage(email, { inline, missing }));
    if (Buffer.byteLength(body, 'utf8') >= MAX_REQUEST_BYTES) {
      throw new ArchiverError('GRAPH_ERROR', `message request of ${unit.itemKey} would be ${Buffer.byteLength(body, 'utf8')} bytes`);
    }
    let messageId: string;
    try {
      messageId = await createOnce(work, () => createMessage(work.graph, work.mailboxId, work.folderId, body, { ...work.write, idempotent: false }));
    } catch (error) {
      if (refusedForGood(error) && inline.length > 0) {
        allowInline = false; // learn which attachment Graph refuses by sending each on its own
        continue;
      }
      throw error;
    }
    work.created.messageId = messageId;
    const refused: MissingAttachment[] = [];
    for (let i = 0; i < todo.length; i++) {
      const route = routes[i];
      if (route === 'inline') continue;
      try {
        await attachSeparately(work, messageId, todo[i], route);
      } catch (error) {
        if (!refusedForGood(error)) throw error;
        refused.push({ ...pickMissing(todo[i]), reason: error.detail });
        work.log({ event: 'attachment-refused', mailboxId: work.mailboxId, itemKey: unit.itemKey, detail: error.detail });
      }
    }
    if (!refused.length) return { messageId, missing };
    await removeCopy(work, messageId);
    missing.push(...refused);
  }
  throw new ArchiverError('GRAPH_ERROR', `import of ${unit.itemKey} did not settle`);
}
