/**
 * How messages, folders and attachments look on the wire: the message
 * resource's default properties (internetMessageHeaders only with `$select`,
 * extended properties only with `$expand`, as the resource docs say), `id`
 * and `@odata.etag` always, and the `$select`/`$expand` rules.
 *
 * An expanded extended property that the message does not have is left out,
 * and `singleValueExtendedProperties` is then absent altogether, as Graph
 * answers: a client must not assume the key is there.
 */
import { badQuery } from './errors';
import { MSGFLAG_READ, MSGFLAG_UNSENT, PR_MESSAGE_FLAGS, parseExtendedPropertyId, canonicalExtendedPropertyId, sameExtendedProperty } from './extendedProperties';
import { matchesFilter, ODataSyntaxError, parseExpand, parseFilter, parseSelect, type ExpandItem, type FilterSemantics } from './odata';
import type { RequestContext } from './context';
import type { StoredAttachment, StoredFolder, StoredMessage } from './types';

export const MESSAGE_TYPE = 'Microsoft.OutlookServices.Message';
const MSGFLAG_HASATTACH = 0x10;
const FLAGS_ID = canonicalExtendedPropertyId(parseExtendedPropertyId(`Integer 0x${PR_MESSAGE_FLAGS.toString(16)}`)!);

const MESSAGE_DEFAULT = [
  'id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'categories', 'receivedDateTime', 'sentDateTime', 'hasAttachments',
  'internetMessageId', 'subject', 'bodyPreview', 'importance', 'parentFolderId', 'conversationId', 'conversationIndex',
  'isDeliveryReceiptRequested', 'isReadReceiptRequested', 'isRead', 'isDraft', 'webLink', 'inferenceClassification', 'body',
  'sender', 'from', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'flag',
];
const MESSAGE_SELECTABLE = new Set([...MESSAGE_DEFAULT, 'internetMessageHeaders', 'uniqueBody'].map((p) => p.toLowerCase()));
const MESSAGE_FILTERABLE = new Set([...MESSAGE_SELECTABLE, 'singlevalueextendedproperties']);

/** Filter semantics of a message: extended property ids compare as ids, everything else as Exchange does. */
export const messageSemantics: FilterSemantics = {
  properties: MESSAGE_FILTERABLE,
  typeName: MESSAGE_TYPE,
  equals: (path, value, literal) => {
    if (path.collection === 'singlevalueextendedproperties' && path.property === 'id') {
      return typeof value === 'string' && typeof literal === 'string' && sameExtendedProperty(value, literal);
    }
    return undefined;
  },
};

const extendedPropertySemantics: FilterSemantics = {
  properties: new Set(['id', 'value']),
  typeName: 'Microsoft.OutlookServices.SingleValueLegacyExtendedProperty',
  equals: (path, value, literal) => (path.property === 'id' && typeof value === 'string' && typeof literal === 'string'
    ? sameExtendedProperty(value, literal) : undefined),
};

/** PR_MESSAGE_FLAGS as Exchange reports it now: the bits given at creation, with read, unsent and has-attachment kept current. */
export function currentFlags(m: StoredMessage): number {
  const stored = m.singleValueExtendedProperties.find((p) => p.id === FLAGS_ID);
  let flags = stored ? parseInt(stored.value, 10) : 0;
  flags = m.isRead ? flags | MSGFLAG_READ : flags & ~MSGFLAG_READ;
  flags = m.isDraft ? flags | MSGFLAG_UNSENT : flags & ~MSGFLAG_UNSENT;
  flags = m.attachments.some((a) => !a.isInline) ? flags | MSGFLAG_HASATTACH : flags & ~MSGFLAG_HASATTACH;
  return flags;
}

function extendedProperties(m: StoredMessage): { id: string; value: string }[] {
  const others = m.singleValueExtendedProperties.filter((p) => p.id !== FLAGS_ID);
  return [{ id: FLAGS_ID, value: String(currentFlags(m)) }, ...others];
}

/** Every property of a message, as filters see it. */
export function fullMessage(m: StoredMessage): Record<string, unknown> {
  const text = m.body.contentType === 'html' ? m.body.content.replace(/<[^>]*>/g, ' ') : m.body.content;
  return {
    id: m.id,
    createdDateTime: m.createdDateTime,
    lastModifiedDateTime: m.lastModifiedDateTime,
    changeKey: m.changeKey,
    categories: m.categories,
    receivedDateTime: m.receivedDateTime,
    sentDateTime: m.sentDateTime,
    hasAttachments: m.attachments.some((a) => !a.isInline),
    internetMessageId: m.internetMessageId,
    subject: m.subject,
    bodyPreview: text.replace(/\s+/g, ' ').trim().slice(0, 255),
    importance: m.importance,
    parentFolderId: m.folderId,
    conversationId: m.conversationId,
    conversationIndex: Buffer.from(m.conversationId).toString('base64').slice(0, 30),
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead: m.isRead,
    isDraft: m.isDraft,
    webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(m.id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: 'focused',
    body: m.body,
    sender: m.sender,
    from: m.from,
    toRecipients: m.toRecipients,
    ccRecipients: m.ccRecipients,
    bccRecipients: m.bccRecipients,
    replyTo: m.replyTo,
    flag: { flagStatus: 'notFlagged' },
    internetMessageHeaders: m.internetMessageHeaders,
    uniqueBody: m.body,
    singleValueExtendedProperties: extendedProperties(m),
  };
}

/** The attachment resource (fileAttachment), with or without its bytes. */
export function attachmentJson(a: StoredAttachment, withContent = true): Record<string, unknown> {
  const out: Record<string, unknown> = {
    '@odata.type': '#microsoft.graph.fileAttachment',
    '@odata.mediaContentType': a.contentType,
    id: a.id,
    lastModifiedDateTime: a.lastModifiedDateTime,
    name: a.name,
    contentType: a.contentType,
    size: a.size,
    isInline: a.isInline,
    contentId: a.contentId,
    contentLocation: null,
  };
  if (withContent) out.contentBytes = a.contentBase64;
  return out;
}

const ATTACHMENT_SELECTABLE = new Set(['id', 'lastmodifieddatetime', 'name', 'contenttype', 'size', 'isinline', 'contentid', 'contentlocation', 'contentbytes']);

/** Projects an attachment to `$select`. */
export function selectAttachment(a: StoredAttachment, select: string[] | null | undefined): Record<string, unknown> {
  const full = attachmentJson(a);
  if (!select) return full;
  const out: Record<string, unknown> = { '@odata.type': full['@odata.type'], '@odata.mediaContentType': full['@odata.mediaContentType'], id: a.id };
  for (const s of select) {
    if (!ATTACHMENT_SELECTABLE.has(s.toLowerCase())) throw badQuery(`Could not find a property named '${s}' on type 'Microsoft.OutlookServices.Attachment'.`);
    const key = Object.keys(full).find((k) => k.toLowerCase() === s.toLowerCase())!;
    out[key] = full[key];
  }
  return out;
}

export interface MessageQuery {
  select: string[] | null;
  expand: ExpandItem[];
}

/** Reads and validates `$select` and `$expand` for messages. */
export function readMessageQuery(ctx: RequestContext): MessageQuery {
  let select: string[] | null;
  let expand: ExpandItem[];
  try {
    select = parseSelect(ctx.query.get('$select'));
    expand = parseExpand(ctx.query.get('$expand'));
  } catch (e) {
    if (e instanceof ODataSyntaxError) throw badQuery(e.message);
    throw e;
  }
  for (const s of select ?? []) {
    if (!MESSAGE_SELECTABLE.has(s.toLowerCase())) throw badQuery(`Could not find a property named '${s}' on type '${MESSAGE_TYPE}'.`);
  }
  for (const e of expand) {
    const p = e.property.toLowerCase();
    if (p !== 'singlevalueextendedproperties' && p !== 'attachments' && p !== 'multivalueextendedproperties') {
      throw badQuery(`Could not find a navigation property named '${e.property}' on type '${MESSAGE_TYPE}'.`);
    }
    if (e.filter) {
      try {
        const node = parseFilter(e.filter);
        matchesFilter(node, {}, p === 'attachments' ? { properties: ATTACHMENT_SELECTABLE, typeName: 'Microsoft.OutlookServices.Attachment' } : extendedPropertySemantics);
      } catch (err) {
        if (err instanceof ODataSyntaxError) throw badQuery(err.message);
        throw err;
      }
    }
  }
  return { select, expand };
}

/** A message as Graph returns it under the given `$select` / `$expand`. */
export function messageJson(m: StoredMessage, ctx: RequestContext, q: MessageQuery): Record<string, unknown> {
  const full = fullMessage(m);
  const out: Record<string, unknown> = { '@odata.etag': `W/"${m.changeKey}"` };
  const keys = q.select ? ['id', ...q.select] : MESSAGE_DEFAULT;
  for (const k of keys) {
    const actual = Object.keys(full).find((f) => f.toLowerCase() === k.toLowerCase());
    if (actual && !(actual in out)) out[actual] = full[actual];
  }
  for (const e of q.expand) {
    const p = e.property.toLowerCase();
    if (p === 'singlevalueextendedproperties') {
      let props = extendedProperties(m);
      if (e.filter) {
        const node = parseFilter(e.filter);
        props = props.filter((x) => matchesFilter(node, x, extendedPropertySemantics));
      }
      if (props.length) out.singleValueExtendedProperties = props;
    } else if (p === 'attachments') {
      let atts = m.attachments;
      if (e.filter) {
        const node = parseFilter(e.filter);
        atts = atts.filter((a) => matchesFilter(node, attachmentJson(a), { properties: ATTACHMENT_SELECTABLE, typeName: 'Microsoft.OutlookServices.Attachment' }));
      }
      out.attachments = atts.map((a) => selectAttachment(a, e.select));
    }
  }
  return out;
}

/** A mail folder resource. */
export function folderJson(f: StoredFolder, counts: { total: number; unread: number; children: number }): Record<string, unknown> {
  return {
    id: f.id,
    displayName: f.displayName,
    parentFolderId: f.parentFolderId,
    childFolderCount: counts.children,
    unreadItemCount: counts.unread,
    totalItemCount: counts.total,
    sizeInBytes: 0,
    isHidden: false,
  };
}

/** Filter semantics of a mail folder. */
export const folderSemantics: FilterSemantics = {
  properties: new Set(['id', 'displayname', 'parentfolderid', 'childfoldercount', 'unreaditemcount', 'totalitemcount', 'sizeinbytes', 'ishidden']),
  typeName: 'Microsoft.OutlookServices.MailFolder',
};
