/**
 * Mailbox calls: the archive folder at the top of the mailbox (found by
 * display name, created when missing, safe when two imports create it at
 * once), and the message and attachment calls the import makes.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import { UPLOAD_CHUNK_BYTES, type ByteSource, type GraphCallOptions, type GraphClient } from './client';
import { GraphRequestError, isGraphRequestError } from './errors';

/** Quotes a string for an OData literal (`'` doubles) and encodes it for the query string. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Encodes one path segment (ids may hold `/`, `+`, `=`). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

/** A query option value as the SDK puts it into the URL: it does not encode values itself. */
export function q(value: string): string {
  return encodeURIComponent(value);
}

interface MailFolder {
  id: string;
  displayName: string;
}

/** Finds or creates one mail folder per mailbox and remembers its id. */
export interface FolderResolver {
  /** The id of the folder `displayName` at the top of the mailbox, created when missing. */
  ensureFolder(mailboxId: string, displayName: string, options?: GraphCallOptions): Promise<string>;
}

/** Builds a folder resolver that caches folder ids per mailbox for its lifetime. */
export function createFolderResolver(graph: GraphClient): FolderResolver {
  const cache = new Map<string, Promise<string>>();

  async function find(mailboxId: string, displayName: string, options?: GraphCallOptions): Promise<string | undefined> {
    const page = await graph.call(
      'find mail folder',
      (sdk: Client) =>
        sdk
          .api(`/users/${seg(mailboxId)}/mailFolders`)
          .filter(q(`displayName eq ${odataString(displayName)}`))
          .select('id,displayName')
          .get() as Promise<{ value: MailFolder[] }>,
      options,
    );
    // Graph compares display names case-insensitively, as Outlook does; so do we.
    return page.value.find((f) => f.displayName.toLowerCase() === displayName.toLowerCase())?.id ?? page.value[0]?.id;
  }

  async function resolve(mailboxId: string, displayName: string, options?: GraphCallOptions): Promise<string> {
    const found = await find(mailboxId, displayName, options);
    if (found) return found;
    try {
      const created = await graph.call(
        'create mail folder',
        (sdk: Client) => sdk.api(`/users/${seg(mailboxId)}/mailFolders`).post({ displayName, isHidden: false }) as Promise<MailFolder>,
        options,
      );
      return created.id;
    } catch (error) {
      // Another import created it between our look and our create.
      if (isGraphRequestError(error) && (error.statusCode === 409 || error.graphCode === 'ErrorFolderExists')) {
        const again = await find(mailboxId, displayName, options);
        if (again) return again;
      }
      throw error;
    }
  }

  return {
    ensureFolder(mailboxId, displayName, options) {
      const key = `${mailboxId}\n${displayName.toLowerCase()}`;
      let pending = cache.get(key);
      if (!pending) {
        pending = resolve(mailboxId, displayName, options);
        cache.set(key, pending);
        // A failure is not remembered: the next unit (or run) tries again.
        pending.catch(() => cache.delete(key));
      }
      return pending;
    },
  };
}

export interface FoundMessage {
  id: string;
  attachments: { name: string; size: number }[];
}

/**
 * Messages in one folder (the archive folder) whose named property `propertyId`
 * equals `value`, with their attachments' names and sizes. Only that folder:
 * a copy in Deleted Items still carries the property but is no archived copy.
 */
export async function findMessagesByProperty(
  graph: GraphClient,
  mailboxId: string,
  folderId: string,
  propertyId: string,
  value: string,
  options?: GraphCallOptions,
): Promise<FoundMessage[]> {
  const filter = `singleValueExtendedProperties/any(ep: ep/id eq ${odataString(propertyId)} and ep/value eq ${odataString(value)})`;
  return findMessages(graph, mailboxId, folderId, 'find message by item id', filter, options);
}

/**
 * Messages in one folder with this internetMessageId, with their attachments'
 * names and sizes: how a beta importMime whose answer was lost is found, since
 * its named property is only set by the PATCH after it.
 */
export async function findMessagesByInternetMessageId(
  graph: GraphClient,
  mailboxId: string,
  folderId: string,
  internetMessageId: string,
  options?: GraphCallOptions,
): Promise<FoundMessage[]> {
  return findMessages(graph, mailboxId, folderId, 'find message by Message-ID', `internetMessageId eq ${odataString(internetMessageId)}`, options);
}

/** Copies of one unit beyond this many in a folder are found by the next look-up, after these are cleaned up. */
const FIND_PAGE_SIZE = 25;

async function findMessages(graph: GraphClient, mailboxId: string, folderId: string, what: string, filter: string, options?: GraphCallOptions): Promise<FoundMessage[]> {
  const page = await graph.call(
    what,
    (sdk: Client) =>
      sdk
        .api(`/users/${seg(mailboxId)}/mailFolders/${seg(folderId)}/messages`)
        .filter(q(filter))
        .select('id')
        .expand(q('attachments($select=name,size)'))
        .top(FIND_PAGE_SIZE)
        .get() as Promise<{ value: { id: string; attachments?: { name: string; size: number }[] }[] }>,
    options,
  );
  return page.value.map((m) => ({ id: m.id, attachments: m.attachments ?? [] }));
}

/** Creates a message in a folder from its JSON representation; returns its id. */
export async function createMessage(
  graph: GraphClient,
  mailboxId: string,
  folderId: string,
  body: string,
  options?: GraphCallOptions,
): Promise<string> {
  const created = await graph.call(
    'create message',
    (sdk: Client) =>
      sdk
        .api(`/users/${seg(mailboxId)}/mailFolders/${seg(folderId)}/messages`)
        .header('Content-Type', 'application/json')
        .post(body) as Promise<{ id: string }>,
    { ...options, requestBytes: Buffer.byteLength(body, 'utf8') },
  );
  return created.id;
}

/**
 * Deletes a message for good (permanentDelete: into the Purges dumpster, out
 * of every client's and every look-up's reach), never into Deleted Items,
 * where a copy would still carry the item id. A 404 means it is already gone,
 * which is what we wanted, so a repeat after a lost answer is harmless.
 */
export async function permanentlyDeleteMessage(graph: GraphClient, mailboxId: string, messageId: string, options?: GraphCallOptions): Promise<void> {
  try {
    await graph.call(
      'delete message for good',
      (sdk: Client) => sdk.api(`/users/${seg(mailboxId)}/messages/${seg(messageId)}/permanentDelete`).post(undefined),
      options,
    );
  } catch (error) {
    if (isGraphRequestError(error) && error.statusCode === 404) return;
    throw error;
  }
}

/** An attachment as listed on a message: Graph's `size` is the attachment item's, somewhat larger than the file. */
export interface ListedAttachment {
  name: string;
  size: number;
}

/** The attachments of a message, names and sizes only. */
export async function listAttachments(graph: GraphClient, mailboxId: string, messageId: string, options?: GraphCallOptions): Promise<ListedAttachment[]> {
  const page = await graph.call(
    'list attachments',
    (sdk: Client) =>
      sdk
        .api(`/users/${seg(mailboxId)}/messages/${seg(messageId)}/attachments`)
        .select('name,size')
        .get() as Promise<{ value: ListedAttachment[] }>,
    options,
  );
  return page.value;
}

/** How many of `listed` could be the file `name` of `size` bytes (Graph reports at least the file's size). */
export function countMatching(listed: readonly ListedAttachment[], name: string, size: number): number {
  return listed.filter((a) => a.name === name && a.size >= size).length;
}

/** A failure after which the request may still have been carried out: no answer, or a gateway error. */
function answerMaybeLost(error: unknown): boolean {
  if (!isGraphRequestError(error)) return false;
  const s = error.statusCode;
  return s === undefined || s === 500 || s === 502 || s === 504 || (error.exhausted && s !== 429 && s !== 503);
}

/** Attempts at one attachment before its last error stands (each one only after proving the last did not land). */
const ATTACH_ATTEMPTS = 6;

/**
 * Adds one file attachment by a single POST (files under 3 MB, per Graph's
 * docs). A POST is not idempotent: when its answer is lost, the message's
 * attachments are counted against those before it, and it is sent again only
 * when it did not land, so an attachment is never added twice.
 */
export async function postAttachment(
  graph: GraphClient,
  mailboxId: string,
  messageId: string,
  attachment: { name: string; size: number; json: string },
  options?: GraphCallOptions,
): Promise<void> {
  // What the message holds before: after a lost answer, one more than this means the POST landed.
  const before = countMatching(await listAttachments(graph, mailboxId, messageId, options), attachment.name, attachment.size);
  for (let attempt = 1; ; attempt++) {
    try {
      await graph.call(
        'add attachment',
        (sdk: Client) =>
          sdk
            .api(`/users/${seg(mailboxId)}/messages/${seg(messageId)}/attachments`)
            .header('Content-Type', 'application/json')
            .post(attachment.json),
        { ...options, requestBytes: Buffer.byteLength(attachment.json, 'utf8'), idempotent: false },
      );
      return;
    } catch (error) {
      if (!answerMaybeLost(error) || attempt >= ATTACH_ATTEMPTS) throw error;
      const now = countMatching(await listAttachments(graph, mailboxId, messageId, options), attachment.name, attachment.size);
      if (now > before) return;
    }
  }
}

/** Opens an upload session for one large attachment; returns its pre-authenticated URL. */
export async function createUploadSession(
  graph: GraphClient,
  mailboxId: string,
  messageId: string,
  attachment: { name: string; size: number; contentType: string },
  options?: GraphCallOptions,
): Promise<string> {
  const session = await graph.call(
    'create upload session',
    (sdk: Client) =>
      sdk.api(`/users/${seg(mailboxId)}/messages/${seg(messageId)}/attachments/createUploadSession`).post({
        AttachmentItem: { attachmentType: 'file', name: attachment.name, size: attachment.size, contentType: attachment.contentType },
      }) as Promise<{ uploadUrl: string }>,
    options,
  );
  return session.uploadUrl;
}


/**
 * Attaches a large file (3 MB to 150 MB) by an upload session, exactly once:
 * the client resumes a session from what the service says it has; when the
 * session vanishes under us (the final range landed but its answer was lost,
 * or the session expired), the message's attachments say whether the file
 * arrived, and only if it did not is a new session opened. A session whose
 * opening answer was lost is harmless: it never becomes an attachment.
 */
export async function attachLargeFile(
  graph: GraphClient,
  mailboxId: string,
  messageId: string,
  attachment: { name: string; contentType: string },
  bytes: ByteSource,
  options?: GraphCallOptions,
): Promise<void> {
  const before = countMatching(await listAttachments(graph, mailboxId, messageId, options), attachment.name, bytes.length);
  for (let session = 1; ; session++) {
    const uploadUrl = await createUploadSession(graph, mailboxId, messageId, { name: attachment.name, size: bytes.length, contentType: attachment.contentType }, options);
    const outcome = await graph.uploadToSession(uploadUrl, bytes, { ...options, chunkBytes: UPLOAD_CHUNK_BYTES });
    if (outcome.state === 'complete') return;
    const now = countMatching(await listAttachments(graph, mailboxId, messageId, options), attachment.name, bytes.length);
    if (now > before) return;
    if (session >= ATTACH_ATTEMPTS) {
      throw new GraphRequestError('GRAPH_UNAVAILABLE', `Graph upload of an attachment: ${session} upload sessions ended without the attachment`, {
        statusCode: 404,
        graphCode: 'ErrorItemNotFound',
        exhausted: true,
      });
    }
    // Do not leave a half-filled session behind (documented: DELETE on the upload URL cancels it).
    await graph.cancelUploadSession(uploadUrl, options).catch(() => undefined);
  }
}
