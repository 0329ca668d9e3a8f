/**
 * Mailbox calls: the archive folder at the top of the mailbox (found by
 * display name, created when missing, safe when two imports create it at
 * once), and the message and attachment calls the import makes.
 */
import type { Client } from '@microsoft/microsoft-graph-client';
import type { GraphCallOptions, GraphClient, UploadRangeResult } from './client';
import { isGraphRequestError } from './errors';

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

/** Messages anywhere in the mailbox whose named property `propertyId` equals `value`, with their attachments' names and sizes. */
export async function findMessagesByProperty(
  graph: GraphClient,
  mailboxId: string,
  propertyId: string,
  value: string,
  options?: GraphCallOptions,
): Promise<FoundMessage[]> {
  const filter = `singleValueExtendedProperties/any(ep: ep/id eq ${odataString(propertyId)} and ep/value eq ${odataString(value)})`;
  const page = await graph.call(
    'find message by item id',
    (sdk: Client) =>
      sdk
        .api(`/users/${seg(mailboxId)}/messages`)
        .filter(q(filter))
        .select('id')
        .expand(q('attachments($select=name,size)'))
        .top(10)
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

/** Deletes a message (a 404 means it is already gone, which is what we wanted). */
export async function deleteMessage(graph: GraphClient, mailboxId: string, messageId: string, options?: GraphCallOptions): Promise<void> {
  try {
    await graph.call('delete message', (sdk: Client) => sdk.api(`/users/${seg(mailboxId)}/messages/${seg(messageId)}`).delete(), options);
  } catch (error) {
    if (isGraphRequestError(error) && error.statusCode === 404) return;
    throw error;
  }
}

/** Adds one file attachment by a single POST (files under 3 MB, per Graph's docs). */
export async function postAttachment(
  graph: GraphClient,
  mailboxId: string,
  messageId: string,
  body: string,
  options?: GraphCallOptions,
): Promise<void> {
  await graph.call(
    'add attachment',
    (sdk: Client) =>
      sdk
        .api(`/users/${seg(mailboxId)}/messages/${seg(messageId)}/attachments`)
        .header('Content-Type', 'application/json')
        .post(body),
    { ...options, requestBytes: Buffer.byteLength(body, 'utf8') },
  );
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

/** Bytes per PUT: under 4 MB (and 4,000,000), a multiple of 320 KiB as upload services prefer. */
export const UPLOAD_CHUNK_BYTES = 320 * 1024 * 12;

/** Uploads a whole file to an upload session in order, chunk by chunk. */
export async function uploadInChunks(
  graph: GraphClient,
  uploadUrl: string,
  bytes: Buffer,
  options?: GraphCallOptions,
): Promise<UploadRangeResult> {
  let start = 0;
  let last: UploadRangeResult = { status: 0 };
  while (start < bytes.length) {
    const end = Math.min(bytes.length, start + UPLOAD_CHUNK_BYTES);
    last = await graph.putUploadRange(uploadUrl, bytes.subarray(start, end), start, bytes.length, options);
    // The service says where it wants the next range; follow it (a retried PUT may have landed already).
    const next = last.nextExpectedRanges?.[0];
    const nextStart = next !== undefined ? Number.parseInt(next.split('-')[0], 10) : end;
    start = Number.isFinite(nextStart) && nextStart > start ? nextStart : end;
    if (last.status === 201) break;
  }
  return last;
}
