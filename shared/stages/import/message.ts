/**
 * The converted email as Graph's message JSON (archived-email.md, "Import into
 * the mailbox"), and where each attachment goes: inline in the create request
 * while the whole request stays under 4,000,000 bytes, else a POST of its own
 * (a file under 3 MB) or an upload session (3 MB to 150 MB), Graph's two
 * documented ways, which meet at 3 MB with no size left between them.
 */
import type { ArchivedAttachment, ArchivedEmail, EmailAddress } from '../../model/stages';

/** The connector's MAPI property set, fixed for all time so every version finds what any other imported. */
export const O2_PROPERTY_SET = '{e264df5e-3813-4e29-bc56-d084eb5a95a3}';

/** The id of a string named property in our property set. */
export function namedStringProperty(name: string): string {
  return `String ${O2_PROPERTY_SET} Name ${name}`;
}

/** The named property that holds the item id: how a message is found again. */
export const ITEM_ID_PROPERTY = namedStringProperty('O2ArchiverItemId');
/** PR_MESSAGE_FLAGS: 1 = read and not unsent, so the message is not a draft. */
export const MESSAGE_FLAGS_PROPERTY = 'Integer 0x0E07';
/** PR_MESSAGE_DELIVERY_TIME. */
export const DELIVERY_TIME_PROPERTY = 'SystemTime 0x0E06';
/** PR_CLIENT_SUBMIT_TIME. */
export const SUBMIT_TIME_PROPERTY = 'SystemTime 0x0039';

/** The stricter reading of Graph's 4 MB request limit: how large the create request with inline attachments may grow. */
export const MAX_REQUEST_BYTES = 4_000_000;
/**
 * Graph's line between its two ways to attach a file ("Attach large files to
 * Outlook messages"; attachment: createUploadSession; message: add attachment):
 * a file under 3 MB by one POST on the message's attachments, a file of 3 MB
 * to 150 MB by an upload session, which refuses smaller ones
 * (ErrorAttachmentSizeShouldNotBeLessThanMinimumSize). Read as 3,000,000
 * bytes: the only reading under which the POST of a file just under it also
 * keeps Graph's 4 MB request limit (base64 makes 2,999,999 bytes 4,000,000;
 * with 3 MiB it would be 4 MiB before the JSON around it). Every size below is
 * a POST, every size from it an upload session: none is left without a way.
 */
export const UPLOAD_SESSION_MIN_BYTES = 3_000_000;
/** The largest file an upload session takes (Graph's 150 MB, read as above). MAX_ITEM_BYTES stays under it, so every attachment has a way. */
export const UPLOAD_SESSION_MAX_BYTES = 150_000_000;
/** Graph takes at most five internetMessageHeaders. */
export const MAX_INTERNET_HEADERS = 5;

const ALWAYS_HEADERS = ['X-O2Archiver-Item-Id', 'X-O2Archiver-Item-Type', 'X-O2Archiver-Direction', 'X-O2Archiver-Source-SHA256'];

/** An attachment Graph refused, listed in the body of the message that went in without it. */
export interface MissingAttachment {
  mediaId: string;
  fileName: string;
  size: number;
  sha256: string;
  /** Why (`status 413 ErrorAttachmentSizeShouldNotBeLessThanMinimumSize`…). */
  reason: string;
}

export interface GraphRecipient {
  emailAddress: { name: string; address: string };
}

export interface GraphFileAttachment {
  '@odata.type': '#microsoft.graph.fileAttachment';
  name: string;
  contentType: string;
  contentBytes: string;
}

export interface GraphMessage {
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  from: GraphRecipient;
  sender: GraphRecipient;
  toRecipients: GraphRecipient[];
  internetMessageId: string;
  internetMessageHeaders: { name: string; value: string }[];
  singleValueExtendedProperties: { id: string; value: string }[];
  attachments?: GraphFileAttachment[];
}

/** An ISO time truncated to the whole second, as Graph's SystemTime wants it: `2024-05-01T10:00:00Z`. */
export function toSecond(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`not a time: ${iso}`);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function headerValue(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : headers[key];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Splits the X-O2Archiver headers into the five Graph takes as
 * internetMessageHeaders (Item-Id, Item-Type, Direction, Source-SHA256, then
 * Call-Status for a voice item, else Conversation-Id where there is one) and
 * the rest, which become named properties under their header names.
 */
export function splitArchiverHeaders(email: Pick<ArchivedEmail, 'itemType' | 'archiverHeaders'>): {
  headers: { name: string; value: string }[];
  properties: { name: string; value: string }[];
} {
  const fifth = email.itemType === 'voice' ? 'X-O2Archiver-Call-Status' : 'X-O2Archiver-Conversation-Id';
  const chosen = [...ALWAYS_HEADERS, fifth];
  const headers: { name: string; value: string }[] = [];
  for (const name of chosen) {
    const value = headerValue(email.archiverHeaders, name);
    if (value !== undefined) headers.push({ name, value });
  }
  const taken = new Set(chosen.map((n) => n.toLowerCase()));
  const properties = Object.entries(email.archiverHeaders)
    .filter(([name, value]) => !taken.has(name.toLowerCase()) && value !== undefined && value !== '')
    .map(([name, value]) => ({ name, value }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { headers: headers.slice(0, MAX_INTERNET_HEADERS), properties };
}

function recipient(a: EmailAddress): GraphRecipient {
  return { emailAddress: { name: a.name, address: a.address } };
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const MISSING_TITLE = 'Attachments not imported: Microsoft Graph refused them. The archived .eml in storage holds them.';

function missingLines(missing: readonly MissingAttachment[]): string[] {
  return missing.map((m) => `${m.fileName} (${m.size} bytes, SHA-256 ${m.sha256}): ${m.reason}`);
}

/** The message body, with the list of refused attachments (name, size, SHA-256) appended when there are any. */
export function messageBody(email: Pick<ArchivedEmail, 'text' | 'html'>, missing: readonly MissingAttachment[] = []): GraphMessage['body'] {
  if (email.html) {
    const list = missing.length
      ? `<hr><p>${escapeHtml(MISSING_TITLE)}</p><ul>${missingLines(missing).map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`
      : '';
    // A function, not a string: file names are the source's, and `$'`, `` $` `` or `$&` in one would splice the body into itself.
    const html = list && /<\/body>/i.test(email.html) ? email.html.replace(/<\/body>/i, (end) => `${list}${end}`) : email.html + list;
    return { contentType: 'html', content: html };
  }
  const list = missing.length ? `\n\n---\n${MISSING_TITLE}\n${missingLines(missing).map((l) => `- ${l}`).join('\n')}\n` : '';
  return { contentType: 'text', content: email.text + list };
}

/** `<id@host>`: Graph wants internetMessageId in RFC 2822 form, angle brackets included. */
function bracketed(messageId: string): string {
  const id = messageId.trim();
  return id.startsWith('<') ? id : `<${id}>`;
}

/** The create-message JSON of an email, with the given inline attachments and refused-attachment list. */
export function buildMessage(
  email: ArchivedEmail,
  options: { inline?: readonly GraphFileAttachment[]; missing?: readonly MissingAttachment[] } = {},
): GraphMessage {
  const { headers, properties } = splitArchiverHeaders(email);
  const time = toSecond(email.date);
  const message: GraphMessage = {
    subject: email.subject,
    body: messageBody(email, options.missing),
    from: recipient(email.from),
    sender: recipient(email.from),
    toRecipients: email.to.map(recipient),
    internetMessageId: bracketed(email.messageId),
    internetMessageHeaders: headers,
    singleValueExtendedProperties: [
      // Set at creation: Graph cannot clear the draft flag afterwards.
      { id: MESSAGE_FLAGS_PROPERTY, value: '1' },
      { id: DELIVERY_TIME_PROPERTY, value: time },
      { id: SUBMIT_TIME_PROPERTY, value: time },
      { id: ITEM_ID_PROPERTY, value: email.itemId },
      ...properties.map((p) => ({ id: namedStringProperty(p.name), value: p.value })),
    ],
  };
  if (options.inline?.length) message.attachments = [...options.inline];
  return message;
}

/** One attachment as Graph's fileAttachment JSON. */
export function fileAttachment(attachment: Pick<ArchivedAttachment, 'fileName' | 'contentType'>, content: Buffer): GraphFileAttachment {
  return {
    '@odata.type': '#microsoft.graph.fileAttachment',
    name: attachment.fileName,
    contentType: attachment.contentType,
    contentBytes: content.toString('base64'),
  };
}

/** Bytes that an attachment adds to a JSON request, base64 included, without building it. */
export function fileAttachmentJsonBytes(attachment: Pick<ArchivedAttachment, 'fileName' | 'contentType' | 'size'>): number {
  const shell = Buffer.byteLength(JSON.stringify(fileAttachment(attachment, Buffer.alloc(0))), 'utf8');
  return shell + 4 * Math.ceil(attachment.size / 3);
}

export type AttachmentRoute = 'inline' | 'post' | 'upload-session';

/**
 * Decides, attachment by attachment in order, which go inline in the create
 * request (while the whole request stays under MAX_REQUEST_BYTES), which by a
 * POST of their own (a file under UPLOAD_SESSION_MIN_BYTES) and which by an
 * upload session (from it on). The POST of the largest such file is 4,000,000
 * bytes of base64 and a JSON shell of at most a few hundred bytes (names are
 * at most 120 characters), within Graph's 4 MB (4,194,304-byte) request limit.
 */
export function planAttachments(
  email: ArchivedEmail,
  attachments: readonly ArchivedAttachment[],
  options: { missing?: readonly MissingAttachment[]; allowInline?: boolean } = {},
): AttachmentRoute[] {
  const base = Buffer.byteLength(JSON.stringify(buildMessage(email, { missing: options.missing })), 'utf8');
  // `"attachments":[` … `]` and a comma before it.
  let used = base + Buffer.byteLength(',"attachments":[]', 'utf8');
  let inlineCount = 0;
  return attachments.map((a) => {
    const bytes = fileAttachmentJsonBytes(a);
    const cost = bytes + (inlineCount > 0 ? 1 : 0);
    if (options.allowInline !== false && used + cost < MAX_REQUEST_BYTES) {
      used += cost;
      inlineCount++;
      return 'inline';
    }
    return a.size < UPLOAD_SESSION_MIN_BYTES ? 'post' : 'upload-session';
  });
}
