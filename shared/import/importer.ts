/**
 * Imports units into one mailbox, exactly once each: the ledger decides who
 * imports a unit, the named property O2ArchiverItemId finds a message an
 * earlier, crashed attempt left behind, and a create whose answer was lost is
 * looked up before it is sent again.
 *
 * Refused attachments (archived-email.md): a non-draft message's body cannot
 * be changed after it is created, so when Graph refuses an attachment for
 * good (a 4xx other than 401/408/429) the message is deleted and created again
 * with the list of what is missing (name, size, SHA-256) in its body and the
 * attachments that were accepted; the unit is `partial`. A create refused
 * with inline attachments is tried once more with every attachment sent
 * separately, to learn which one Graph refuses.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Settings } from '../config';
import { ArchiverError, describeError, isArchiverError } from '../errors';
import type { ClaimResult, Ledger } from '../ledger';
import { graphRetry, withRetry } from '../retry';
import type { ArchivedAttachment, ArchivedEmail, ImportUnit, MailboxImporter, ResolvedMailbox, UnitResult } from '../stages';
import type { GraphCallOptions, GraphClient } from '../graph/client';
import { isGraphRequestError, type GraphRequestError } from '../graph/errors';
import {
  attachLargeFile,
  createFolderResolver,
  createMessage,
  deleteMessage,
  findMessagesByInternetMessageId,
  findMessagesByProperty,
  postAttachment,
  seg,
  type FoundMessage,
} from '../graph/mailbox';
import {
  buildMessage,
  fileAttachment,
  ITEM_ID_PROPERTY,
  MAX_REQUEST_BYTES,
  planAttachments,
  type GraphFileAttachment,
  type MissingAttachment,
} from './message';
import {
  createMailboxGate,
  GRAPH_MAX_CONCURRENT_PER_MAILBOX,
  GRAPH_REQUESTS_PER_10_MIN,
  GRAPH_UPLOAD_BYTES_PER_5_MIN,
  type MailboxGate,
} from './pacing';

/** The part of the staging store the import reads (shared/staging.ts). */
export interface ImportStaging {
  readItemBlob(itemKey: string, name: 'message.json' | 'message.eml'): Promise<Buffer>;
  openMedia(itemKey: string, mediaId: string): Promise<Readable>;
}

export interface MailboxImporterOptions {
  folderName: string;
  importMode?: 'json' | 'importMime';
  /** Graph requests in flight at once per mailbox (1..4). */
  maxConcurrentPerMailbox?: number;
  requestsPer10Min?: number;
  uploadBytesPer5Min?: number;
  /** Scales pacing windows, waits and the default lease (RETRY_TIME_SCALE). */
  timeScale?: number;
  /** How long a claim holds before another worker may take the unit over; default 15 minutes × timeScale. */
  leaseInMs?: number;
  /** How long to wait for a unit another worker holds before reporting it failed; default the lease. */
  heldWaitInMs?: number;
  /** Identifies this worker in the ledger; a fresh id per importUnits call by default. */
  owner?: string;
  sleep?: (ms: number) => Promise<void>;
  /** Structured events for logs: ids and counts only, never message text or addresses. */
  log?: (event: ImportLogEvent) => void;
}

export interface ImportLogEvent {
  event: 'unit-done' | 'unit-recovered' | 'attachment-refused' | 'mailbox-not-found' | 'unit-failed';
  mailboxId: string;
  itemKey?: string;
  detail?: string;
}

export interface MailboxImporterDeps {
  graph: GraphClient;
  ledger: Ledger;
  staging: ImportStaging;
  options: MailboxImporterOptions;
}

/** The importer's options as the settings give them. */
export function importerOptionsFromSettings(settings: Settings): MailboxImporterOptions {
  return {
    folderName: settings.ARCHIVE_FOLDER_NAME,
    importMode: settings.GRAPH_IMPORT_MODE,
    maxConcurrentPerMailbox: settings.GRAPH_MAX_CONCURRENT_PER_MAILBOX,
    timeScale: settings.RETRY_TIME_SCALE,
  };
}

/** Graph codes with which a mailbox (not an item in it) is unknown. */
const MAILBOX_MISSING_CODES = new Set(['ErrorInvalidUser', 'MailboxNotEnabledForRESTAPI', 'ResourceNotFound', 'Request_ResourceNotFound', 'ErrorNonExistentMailbox']);

function mailboxMissing(error: unknown): boolean {
  return isGraphRequestError(error) && error.statusCode === 404;
}

/** A 4xx that no retry will change (429 and 408 are transient, 401 is our credential, not the attachment). */
function refusedForGood(error: unknown): error is GraphRequestError {
  if (!isGraphRequestError(error) || error.exhausted) return false;
  const s = error.statusCode ?? 0;
  return s >= 400 && s < 500 && s !== 401 && s !== 408 && s !== 429;
}

/** A failure after which the request may still have been carried out (no answer, or a gateway error). */
function maybeApplied(error: unknown): boolean {
  if (!isGraphRequestError(error)) return false;
  const s = error.statusCode;
  return s === undefined || s === 500 || s === 502 || s === 504 || (error.exhausted && s !== 429 && s !== 503);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** True when `found` carries every attachment of the email (Graph reports sizes at least the file's). */
export function hasAllAttachments(found: FoundMessage, attachments: readonly ArchivedAttachment[]): boolean {
  const pool = [...found.attachments];
  for (const a of attachments) {
    const i = pool.findIndex((f) => f.name === a.fileName && f.size >= a.size);
    if (i < 0) return false;
    pool.splice(i, 1);
  }
  return true;
}

/** Builds the importer of units into mailboxes (one gate per mailbox, shared by concurrent calls). */
export function createMailboxImporter(deps: MailboxImporterDeps): MailboxImporter {
  const { graph, ledger, staging } = deps;
  const o = deps.options;
  const timeScale = o.timeScale ?? 1;
  const maxConcurrent = Math.min(o.maxConcurrentPerMailbox ?? GRAPH_MAX_CONCURRENT_PER_MAILBOX, GRAPH_MAX_CONCURRENT_PER_MAILBOX);
  const leaseInMs = o.leaseInMs ?? Math.max(1_000, 15 * 60_000 * timeScale);
  const heldWaitInMs = o.heldWaitInMs ?? leaseInMs;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const log = o.log ?? (() => undefined);
  const folders = createFolderResolver(graph);
  const gates = new Map<string, MailboxGate>();

  function gateFor(mailboxId: string): MailboxGate {
    let gate = gates.get(mailboxId);
    if (!gate) {
      gate = createMailboxGate({
        maxConcurrent,
        requestsPer10Min: o.requestsPer10Min ?? GRAPH_REQUESTS_PER_10_MIN,
        uploadBytesPer5Min: o.uploadBytesPer5Min ?? GRAPH_UPLOAD_BYTES_PER_5_MIN,
        timeScale,
        sleep: o.sleep,
      });
      gates.set(mailboxId, gate);
    }
    return gate;
  }

  async function readMedia(unit: ImportUnit, attachment: ArchivedAttachment): Promise<Buffer> {
    const bytes = await readAll(await staging.openMedia(unit.itemKey, attachment.mediaId));
    const sha = createHash('sha256').update(bytes).digest('hex');
    // Staging proved the media once; the copies in every mailbox must still carry the same bytes.
    if (bytes.length !== attachment.size || sha !== attachment.sha256.toLowerCase()) {
      throw new ArchiverError('MEDIA_CHECKSUM_MISMATCH', `staged media of ${unit.itemKey} no longer matches its descriptor`);
    }
    return bytes;
  }

  /** Claims a unit, waiting (bounded) while another worker holds a live claim. */
  async function claim(mailboxId: string, unit: ImportUnit, runId: string, owner: string): Promise<ClaimResult> {
    const started = Date.now();
    for (;;) {
      const result = await ledger.claim(mailboxId, unit.itemKey, { runId, owner, leaseInMs });
      if (result.outcome !== 'held-by-other') return result;
      const left = heldWaitInMs - (Date.now() - started);
      if (left <= 0) return result;
      const untilExpiry = Date.parse(result.leaseExpiresAt) - Date.now();
      await sleep(Math.max(1, Math.min(left, Math.max(untilExpiry, 1), 5_000 * Math.max(timeScale, 0.01))));
    }
  }

  /** Creates the message; a create whose answer was lost is looked up before it is sent again. */
  async function createOnce(mailboxId: string, folderId: string, itemId: string, body: string, call: GraphCallOptions): Promise<string> {
    return withRetry(
      async (attempt) => {
        if (attempt > 1) {
          const found = await findMessagesByProperty(graph, mailboxId, ITEM_ID_PROPERTY, itemId, call);
          if (found.length) return found[0].id;
        }
        return createMessage(graph, mailboxId, folderId, body, { ...call, idempotent: false });
      },
      graphRetry,
      (error) => ({ retry: maybeApplied(error) }),
      { timeScale, sleep: o.sleep },
    ).catch((error) => {
      throw isGraphRequestError(error) ? error : ((error as { lastError?: unknown }).lastError ?? error);
    });
  }

  async function attachSeparately(
    mailboxId: string,
    messageId: string,
    unit: ImportUnit,
    attachment: ArchivedAttachment,
    route: 'post' | 'upload-session',
    call: GraphCallOptions,
  ): Promise<void> {
    const bytes = await readMedia(unit, attachment);
    // Both routes make sure a lost answer never adds the file twice nor turns a landed file into a refusal.
    if (route === 'post') {
      await postAttachment(graph, mailboxId, messageId, { name: attachment.fileName, size: bytes.length, json: JSON.stringify(fileAttachment(attachment, bytes)) }, call);
      return;
    }
    await attachLargeFile(graph, mailboxId, messageId, { name: attachment.fileName, contentType: attachment.contentType }, bytes, call);
  }

  interface Imported {
    messageId: string;
    missing: MissingAttachment[];
  }

  /** Imports the email as JSON (Graph v1.0): see the module comment for refused attachments. */
  async function importJson(
    mailboxId: string,
    folderId: string,
    unit: ImportUnit,
    email: ArchivedEmail,
    call: GraphCallOptions,
    created: { messageId?: string },
  ): Promise<Imported> {
    const missing: MissingAttachment[] = [];
    let allowInline = true;
    for (let round = 0; round <= email.attachments.length + 1; round++) {
      const todo = email.attachments.filter((a) => !missing.some((m) => m.mediaId === a.mediaId));
      const routes = planAttachments(email, todo, { missing, allowInline });
      const inline: GraphFileAttachment[] = [];
      for (let i = 0; i < todo.length; i++) if (routes[i] === 'inline') inline.push(fileAttachment(todo[i], await readMedia(unit, todo[i])));
      const body = JSON.stringify(buildMessage(email, { inline, missing }));
      if (Buffer.byteLength(body, 'utf8') >= MAX_REQUEST_BYTES) {
        throw new ArchiverError('GRAPH_ERROR', `message request of ${unit.itemKey} would be ${Buffer.byteLength(body, 'utf8')} bytes`);
      }
      let messageId: string;
      try {
        messageId = await createOnce(mailboxId, folderId, email.itemId, body, call);
      } catch (error) {
        if (refusedForGood(error) && inline.length > 0) {
          allowInline = false; // learn which attachment Graph refuses by sending each on its own
          continue;
        }
        throw error;
      }
      created.messageId = messageId;
      const refused: MissingAttachment[] = [];
      for (let i = 0; i < todo.length; i++) {
        const route = routes[i];
        if (route === 'inline') continue;
        try {
          await attachSeparately(mailboxId, messageId, unit, todo[i], route, call);
        } catch (error) {
          if (!refusedForGood(error)) throw error;
          refused.push({ ...pickMissing(todo[i]), reason: error.detail });
          log({ event: 'attachment-refused', mailboxId, itemKey: unit.itemKey, detail: error.detail });
        }
      }
      if (!refused.length) return { messageId, missing };
      await deleteMessage(graph, mailboxId, messageId, call);
      created.messageId = undefined;
      missing.push(...refused);
    }
    throw new ArchiverError('GRAPH_ERROR', `import of ${unit.itemKey} did not settle`);
  }

  /** Sets the item-id named property on a message imported from MIME (the .eml carries the id only as a header). */
  async function markImported(mailboxId: string, messageId: string, itemId: string, call: GraphCallOptions): Promise<void> {
    await graph.call(
      'mark imported message',
      (sdk) => sdk.api(`/users/${seg(mailboxId)}/messages/${seg(messageId)}`).patch({ singleValueExtendedProperties: [{ id: ITEM_ID_PROPERTY, value: itemId }] }),
      call,
    );
  }

  /** Imports the .eml by the beta importMime action; falls back to JSON when the request would pass 4 MB. */
  async function importMime(
    mailboxId: string,
    folderId: string,
    unit: ImportUnit,
    email: ArchivedEmail,
    call: GraphCallOptions,
    created: { messageId?: string },
  ): Promise<Imported> {
    const eml = await staging.readItemBlob(unit.itemKey, 'message.eml');
    const base64 = eml.toString('base64');
    if (Buffer.byteLength(base64) >= MAX_REQUEST_BYTES) return importJson(mailboxId, folderId, unit, email, call, created);
    const internetMessageId = email.messageId.trim().startsWith('<') ? email.messageId.trim() : `<${email.messageId.trim()}>`;
    // Like a JSON create, an import whose answer was lost is looked up (by its Message-ID) before it is sent again.
    const messageId = await withRetry(
      async (attempt) => {
        if (attempt > 1) {
          const found = await findMessagesByInternetMessageId(graph, mailboxId, internetMessageId, call);
          if (found.length) return found[0].id;
        }
        const answer = await graph.call(
          'import MIME',
          (sdk) =>
            sdk
              .api(`/users/${seg(mailboxId)}/mailFolders/${seg(folderId)}/importMime`)
              .version('beta')
              .header('Content-Type', 'text/plain')
              .post(base64) as Promise<{ id: string }>,
          { ...call, requestBytes: Buffer.byteLength(base64), idempotent: false },
        );
        return answer.id;
      },
      graphRetry,
      (error) => ({ retry: maybeApplied(error) }),
      { timeScale, sleep: o.sleep },
    ).catch((error) => {
      throw isGraphRequestError(error) ? error : ((error as { lastError?: unknown }).lastError ?? error);
    });
    created.messageId = messageId;
    await markImported(mailboxId, messageId, email.itemId, call);
    return { messageId, missing: [] };
  }

  function failed(unit: ImportUnit, reason: string, detail: string): UnitResult {
    return { itemKey: unit.itemKey, outcome: 'failed', reason, detail };
  }

  async function importUnit(runId: string, mailboxId: string, folderId: string, unit: ImportUnit, owner: string): Promise<UnitResult> {
    const call: GraphCallOptions = { gate: gateFor(mailboxId) };
    const claimed = await claim(mailboxId, unit, runId, owner);
    if (claimed.outcome === 'already-imported') {
      if (claimed.runId !== runId) return { itemKey: unit.itemKey, outcome: 'duplicate', graphMessageId: claimed.graphMessageId };
      // This run finished it before (a retried activity): report what it was.
      return claimed.state === 'partial'
        ? { itemKey: unit.itemKey, outcome: 'partial', reason: 'attachment-refused', detail: 'partially imported earlier in this run', graphMessageId: claimed.graphMessageId }
        : { itemKey: unit.itemKey, outcome: 'imported', graphMessageId: claimed.graphMessageId };
    }
    if (claimed.outcome === 'held-by-other') {
      return failed(unit, 'held-by-other', `another worker holds the unit until ${claimed.leaseExpiresAt}`);
    }

    const created: { messageId?: string } = {};
    try {
      const email = JSON.parse((await staging.readItemBlob(unit.itemKey, 'message.json')).toString('utf8')) as ArchivedEmail;
      if (claimed.takenOver) {
        // An earlier attempt crashed or lost its answers: what is in the mailbox decides.
        const found = await findMessagesByProperty(graph, mailboxId, ITEM_ID_PROPERTY, email.itemId, call);
        if (o.importMode === 'importMime') {
          // A MIME import that crashed before its PATCH has no named property yet: its Message-ID finds it.
          const mid = email.messageId.trim().startsWith('<') ? email.messageId.trim() : `<${email.messageId.trim()}>`;
          for (const m of await findMessagesByInternetMessageId(graph, mailboxId, mid, call)) if (!found.some((f) => f.id === m.id)) found.push(m);
        }
        const keep = found.find((m) => hasAllAttachments(m, email.attachments));
        for (const m of found) if (m !== keep) await deleteMessage(graph, mailboxId, m.id, call);
        if (keep) {
          if (o.importMode === 'importMime') await markImported(mailboxId, keep.id, email.itemId, call);
          await ledger.complete(mailboxId, unit.itemKey, { runId, owner, state: 'imported', graphMessageId: keep.id, etag: claimed.etag });
          log({ event: 'unit-recovered', mailboxId, itemKey: unit.itemKey });
          const ours = claimed.takenOver.runId === runId;
          return { itemKey: unit.itemKey, outcome: ours ? 'imported' : 'duplicate', graphMessageId: keep.id };
        }
      }
      const result =
        o.importMode === 'importMime'
          ? await importMime(mailboxId, folderId, unit, email, call, created)
          : await importJson(mailboxId, folderId, unit, email, call, created);
      const state = result.missing.length ? 'partial' : 'imported';
      await ledger.complete(mailboxId, unit.itemKey, { runId, owner, state, graphMessageId: result.messageId, etag: claimed.etag });
      log({ event: 'unit-done', mailboxId, itemKey: unit.itemKey, detail: state });
      if (state === 'partial') {
        const detail = `${result.missing.length} attachment(s) refused: ` + result.missing.map((m) => `${m.fileName} ${m.size} bytes sha256 ${m.sha256} (${m.reason})`).join('; ');
        return { itemKey: unit.itemKey, outcome: 'partial', reason: 'attachment-refused', detail, graphMessageId: result.messageId };
      }
      return { itemKey: unit.itemKey, outcome: 'imported', graphMessageId: result.messageId };
    } catch (error) {
      // Give the unit back only when nothing of it can be left in the mailbox; otherwise the
      // claim runs out and the next attempt looks in the mailbox first.
      let clean = !maybeAppliedCreate(error, created);
      if (created.messageId) {
        try {
          await deleteMessage(graph, mailboxId, created.messageId, call);
        } catch {
          clean = false;
        }
      }
      if (clean) await ledger.release(mailboxId, unit.itemKey, owner).catch(() => undefined);
      const result = unitFailure(unit, error);
      log({ event: 'unit-failed', mailboxId, itemKey: unit.itemKey, detail: result.outcome === 'failed' ? `${result.reason}: ${result.detail}` : undefined });
      return result;
    }
  }

  /** True when a create may have reached the mailbox without our knowing its id. */
  function maybeAppliedCreate(error: unknown, created: { messageId?: string }): boolean {
    return created.messageId === undefined && maybeApplied(error);
  }

  function unitFailure(unit: ImportUnit, error: unknown): UnitResult {
    if (mailboxMissing(error) && MAILBOX_MISSING_CODES.has((error as GraphRequestError).graphCode ?? '')) {
      return failed(unit, 'mailbox-not-found', (error as GraphRequestError).detail);
    }
    if (isGraphRequestError(error)) return failed(unit, 'graph-error', error.detail);
    if (isArchiverError(error, 'MEDIA_CHECKSUM_MISMATCH')) return failed(unit, 'media-checksum-mismatch', describeError(error));
    if (isArchiverError(error, 'MEDIA_MISSING')) return failed(unit, 'media-missing', describeError(error));
    if (isArchiverError(error)) return failed(unit, 'graph-error', describeError(error));
    throw error; // a defect or a storage outage: worth the activity's own retry
  }

  return {
    async importUnits(runId, mailbox: ResolvedMailbox, units) {
      const mailboxId = mailbox.objectId;
      const owner = o.owner ?? `${runId}:${randomUUID()}`;
      let folderId: string;
      try {
        folderId = await folders.ensureFolder(mailboxId, o.folderName, { gate: gateFor(mailboxId) });
      } catch (error) {
        if (mailboxMissing(error)) {
          log({ event: 'mailbox-not-found', mailboxId, detail: (error as GraphRequestError).detail });
          return units.map((u) => failed(u, 'mailbox-not-found', (error as GraphRequestError).detail));
        }
        if (isGraphRequestError(error)) return units.map((u) => failed(u, 'graph-error', `mail folder: ${error.detail}`));
        throw error;
      }
      // Units run side by side up to the mailbox's concurrency; the gate bounds the requests themselves.
      const results: UnitResult[] = new Array(units.length);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < units.length; i = next++) results[i] = await importUnit(runId, mailboxId, folderId, units[i], owner);
      };
      await Promise.all(Array.from({ length: Math.min(maxConcurrent, units.length) }, worker));
      return results;
    },
  };
}

function pickMissing(a: ArchivedAttachment): Omit<MissingAttachment, 'reason'> {
  return { mediaId: a.mediaId, fileName: a.fileName, size: a.size, sha256: a.sha256 };
}
