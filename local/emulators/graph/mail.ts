/**
 * Mailbox routes: mail folders, messages (JSON and MIME create, beta
 * importMime), `$value`, attachments and attachment upload sessions, each
 * with the validation the Graph docs describe for it.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { GraphHttpError, badQuery, badRequest, itemNotFound } from './errors';
import { json, page, readTop, type GraphResponse, type RequestContext } from './context';
import {
  MSGFLAG_READ, MSGFLAG_UNSENT, PR_CLIENT_SUBMIT_TIME, PR_MESSAGE_DELIVERY_TIME, PR_MESSAGE_FLAGS, PS_INTERNET_HEADERS,
  canonicalExtendedPropertyId, normaliseExtendedPropertyValue, parseExtendedPropertyId,
} from './extendedProperties';
import { parseMime, renderMime } from './mime';
import { checkFilterProperties, matchesFilter, ODataSyntaxError, parseFilter, parseSelect, type FilterNode, type FilterSemantics } from './odata';
import {
  attachmentJson, folderJson, folderSemantics, fullMessage, messageJson, messageSemantics, readMessageQuery, selectAttachment,
} from './representation';
import { newExchangeId, type GraphStore } from './store';
import type {
  DeliveryTimeMode, EmailAddressJson, ExtendedPropertyFilterMode, MessageFlagsAtCreate, NonDraftAttachments, StoredAttachment, StoredExtendedProperty,
  StoredFolder, StoredMessage, TenantUser,
} from './types';

/** Options the mail routes read on every request (they can change at run time). */
export interface MailSettings {
  nonDraftAttachments: NonDraftAttachments;
  messageFlagsAtCreate: MessageFlagsAtCreate;
  deliveryTime: DeliveryTimeMode;
  extendedPropertyFilter: ExtendedPropertyFilterMode;
  uploadSessionTtlInMs: number;
  uploadBaseUrl: string;
  /** Exchange Online's default maximum message size (35 MB), attachments included. */
  maxMessageBytes: number;
  /** A new message is invisible to \$filter for this long (an index that lags the store); 0 by default. */
  filterLagInMs: number;
}

/**
 * Graph's two ways to attach a file ("Attach large files to Outlook messages",
 * attachment: createUploadSession, message: add attachment): a single POST for
 * a file under 3 MB, an upload session for a file of 3 MB to 150 MB. "MB" is
 * read as 10^6 bytes, the only reading under which a POST of a file just under
 * 3 MB also fits Graph's 4 MB request limit (its base64 alone is 4,000,000
 * bytes; with 3 MiB it would be 4 MiB before the JSON around it). The two
 * ways meet at 3,000,000 bytes, so every size up to 150 MB has exactly one.
 */
const UPLOAD_SESSION_MIN_BYTES = 3_000_000;
const MAX_ATTACHMENT_BYTES = 150_000_000;
const ID_RE = /^[A-Za-z0-9_\-+/]{16,}={0,2}$/;

const MESSAGE_WRITABLE = new Set([
  'subject', 'body', 'from', 'sender', 'torecipients', 'ccrecipients', 'bccrecipients', 'replyto', 'internetmessageid',
  'internetmessageheaders', 'singlevalueextendedproperties', 'multivalueextendedproperties', 'attachments', 'importance',
  'isread', 'categories', 'flag', 'isdeliveryreceiptrequested', 'isreadreceiptrequested', 'inferenceclassification',
  'receiveddatetime', 'sentdatetime', 'conversationid', '@odata.type',
]);
/** Properties Graph documents as writable only while a message is a draft. */
const DRAFT_ONLY = new Set(['subject', 'body', 'from', 'sender', 'torecipients', 'ccrecipients', 'bccrecipients', 'replyto', 'internetmessageid', 'internetmessageheaders']);

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function toSecond(iso: string | undefined): string | undefined {
  return iso === undefined ? undefined : new Date(Math.floor(Date.parse(iso) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function newChangeKey(): string {
  return randomBytes(21).toString('base64');
}

function readJsonBody(ctx: RequestContext): Record<string, unknown> {
  const type = (ctx.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('application/json')) {
    throw new GraphHttpError(415, 'UnsupportedMediaType', `A request body of type '${type || 'none'}' is not supported here; send application/json.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw badRequest('Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.', 'BadRequest');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest('The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

function checkIdShape(id: string): void {
  // Exchange rejects an id that cannot be one (a display name passed as an id, say) before looking it up.
  if (!ID_RE.test(id)) throw new GraphHttpError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.');
}

function getProp(obj: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(obj).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : obj[key];
}

function recipient(value: unknown, field: string): EmailAddressJson {
  if (!value || typeof value !== 'object') throw badRequest(`Invalid value for '${field}': a recipient object is expected.`, 'RequestBodyRead');
  const ea = getProp(value as Record<string, unknown>, 'emailAddress');
  if (!ea || typeof ea !== 'object') throw badRequest(`Invalid value for '${field}': emailAddress is required.`, 'RequestBodyRead');
  const address = getProp(ea as Record<string, unknown>, 'address');
  const name = getProp(ea as Record<string, unknown>, 'name');
  if (address !== undefined && typeof address !== 'string') throw badRequest(`Invalid address in '${field}'.`, 'RequestBodyRead');
  if (name !== undefined && name !== null && typeof name !== 'string') throw badRequest(`Invalid name in '${field}'.`, 'RequestBodyRead');
  if (typeof address === 'string' && !/^[^\s@<>]+@[^\s@<>]+$/.test(address)) {
    throw new GraphHttpError(400, 'ErrorInvalidRecipients', `At least one recipient isn't valid: '${address}' is not an SMTP address.`);
  }
  return { emailAddress: { name: typeof name === 'string' ? name : (address as string | undefined), address: address as string | undefined } };
}

function recipients(value: unknown, field: string): EmailAddressJson[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest(`'${field}' must be a collection.`, 'RequestBodyRead');
  return value.map((v) => recipient(v, field));
}

function isBase64(s: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0;
}

/** Attachment `size` as Exchange reports it: the attachment item, somewhat larger than the file (the docs' example: 3483322 bytes uploaded, size 3640066). */
function reportedSize(bytes: number, name: string): number {
  return bytes + 128 + 2 * name.length;
}

function newAttachment(name: string, contentType: string, content: Buffer, isInline: boolean, contentId: string | null): StoredAttachment {
  return {
    id: newExchangeId('AAMkAGAtt', 80),
    name,
    contentType,
    size: reportedSize(content.length, name),
    isInline,
    contentId,
    lastModifiedDateTime: now(),
    contentBase64: content.toString('base64'),
  };
}

function parseFileAttachment(raw: unknown): StoredAttachment {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('An attachment must be an object.', 'RequestBodyRead');
  const a = raw as Record<string, unknown>;
  const type = getProp(a, '@odata.type');
  if (type !== '#microsoft.graph.fileAttachment' && type !== '#Microsoft.OutlookServices.FileAttachment') {
    throw badRequest(`Attachment '@odata.type' must be '#microsoft.graph.fileAttachment' (got '${String(type)}').`, 'ErrorInvalidRequest');
  }
  const name = getProp(a, 'name');
  const contentBytes = getProp(a, 'contentBytes');
  if (typeof name !== 'string' || !name) throw badRequest('The attachment name is required.', 'ErrorInvalidRequest');
  if (typeof contentBytes !== 'string' || !isBase64(contentBytes)) {
    throw badRequest('The attachment contentBytes must be base64.', 'ErrorInvalidRequest');
  }
  const contentType = getProp(a, 'contentType');
  const isInline = getProp(a, 'isInline') === true;
  const contentId = getProp(a, 'contentId');
  return newAttachment(name, typeof contentType === 'string' && contentType ? contentType : 'application/octet-stream',
    Buffer.from(contentBytes, 'base64'), isInline, typeof contentId === 'string' ? contentId : null);
}

function parseHeaders(value: unknown): { name: string; value: string }[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest("'internetMessageHeaders' must be a collection.", 'RequestBodyRead');
  // Graph: at most five custom headers, each named "x-…" (message resource; the 400 below is Graph's answer).
  if (value.length > 5) {
    throw new GraphHttpError(400, 'InvalidInternetMessageHeaderCollection', 'Maximum number of headers in one message should be less than or equal to 5.');
  }
  return value.map((h) => {
    const name = h && typeof h === 'object' ? getProp(h as Record<string, unknown>, 'name') : undefined;
    const val = h && typeof h === 'object' ? getProp(h as Record<string, unknown>, 'value') : undefined;
    if (typeof name !== 'string' || typeof val !== 'string') throw badRequest('Each internet message header needs a name and a value.', 'RequestBodyRead');
    if (!/^x-/i.test(name)) {
      throw new GraphHttpError(400, 'InvalidInternetMessageHeader', `The internet message header name '${name}' should start with 'x-' or 'X-'.`);
    }
    if (/[\r\n]/.test(val) || /[\r\n:]/.test(name)) throw new GraphHttpError(400, 'InvalidInternetMessageHeader', `The internet message header '${name}' contains a line break.`);
    return { name, value: val };
  });
}

function parseExtended(value: unknown): StoredExtendedProperty[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest("'singleValueExtendedProperties' must be a collection.", 'RequestBodyRead');
  const out: StoredExtendedProperty[] = [];
  for (const p of value) {
    const id = p && typeof p === 'object' ? getProp(p as Record<string, unknown>, 'id') : undefined;
    const val = p && typeof p === 'object' ? getProp(p as Record<string, unknown>, 'value') : undefined;
    const parsed = typeof id === 'string' ? parseExtendedPropertyId(id) : null;
    if (!parsed) throw new GraphHttpError(400, 'ErrorInvalidExtendedProperty', `The extended property id '${String(id)}' is not in a supported format.`);
    const normalised = normaliseExtendedPropertyValue(parsed.type, val);
    if (normalised === null) {
      throw new GraphHttpError(400, 'ErrorInvalidExtendedPropertyValue', `The value '${String(val)}' is not valid for an extended property of type ${parsed.type} (values are sent as strings).`);
    }
    const canonical = canonicalExtendedPropertyId(parsed);
    const existing = out.findIndex((x) => x.id === canonical);
    if (existing >= 0) out.splice(existing, 1);
    out.push({ id: canonical, value: normalised });
  }
  return out;
}

function tagValue(props: StoredExtendedProperty[], type: string, tag: number): string | undefined {
  const id = canonicalExtendedPropertyId({ type, tag });
  return props.find((p) => p.id === id)?.value;
}

function totalBytes(m: StoredMessage): number {
  return m.attachments.reduce((s, a) => s + Buffer.byteLength(a.contentBase64, 'base64'), Buffer.byteLength(m.body.content));
}

/** The mail routes, bound to a store and the live settings. */
export class MailRoutes {
  constructor(private readonly store: GraphStore, private readonly settings: () => MailSettings) {}

  // ---- folders -------------------------------------------------------------

  private folder(user: TenantUser, id: string): StoredFolder {
    const found = this.store.findFolder(user.id, id);
    if (found) return found;
    checkIdShape(id);
    throw itemNotFound();
  }

  private folderResource(user: TenantUser, f: StoredFolder): Record<string, unknown> {
    const messages = this.store.messages(user.id, f.id);
    return folderJson(f, {
      total: messages.length,
      unread: messages.filter((m) => !m.isRead).length,
      children: this.store.childFolders(user.id, f.id).length,
    });
  }

  /** `GET /users/{id}/mailFolders[/{id}/childFolders]`: $filter, $select, $top (default 10), nextLink. */
  listFolders(ctx: RequestContext, user: TenantUser, parentId: string): GraphResponse {
    let folders = this.store.childFolders(user.id, parentId).map((f) => this.folderResource(user, f));
    const filterText = ctx.query.get('$filter');
    if (filterText !== null) {
      const node = this.parse(filterText, folderSemantics);
      folders = folders.filter((f) => matchesFilter(node, f, folderSemantics));
    }
    const select = this.select(ctx, folderSemantics);
    const top = readTop(ctx, 10, 1000);
    const { value, nextLink } = page(ctx, folders, top, 'skip');
    const body: Record<string, unknown> = { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/mailFolders` };
    if (nextLink) body['@odata.nextLink'] = nextLink;
    body.value = value.map((f) => this.project(f, select));
    return json(200, body);
  }

  /** `GET /users/{id}/mailFolders/{id}`. */
  getFolder(ctx: RequestContext, user: TenantUser, id: string): GraphResponse {
    const f = this.folder(user, id);
    const select = this.select(ctx, folderSemantics);
    return json(200, { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/mailFolders/$entity`, ...this.project(this.folderResource(user, f), select) });
  }

  /** `POST /users/{id}/mailFolders[/{id}/childFolders]`: 409 ErrorFolderExists for a name taken among its siblings (any letter case). */
  createFolder(ctx: RequestContext, user: TenantUser, parentId: string): GraphResponse {
    const body = readJsonBody(ctx);
    for (const k of Object.keys(body)) {
      if (!['displayname', 'ishidden', '@odata.type'].includes(k.toLowerCase())) {
        throw badRequest(`The property '${k}' does not exist on type 'microsoft.graph.mailFolder'. Make sure to only use property names that are defined by the type.`, 'RequestBodyRead');
      }
    }
    const displayName = getProp(body, 'displayName');
    if (typeof displayName !== 'string' || !displayName.trim()) throw badRequest('The folder displayName is required.', 'ErrorInvalidRequest');
    const taken = this.store.childFolders(user.id, parentId).some((f) => f.displayName.toLowerCase() === displayName.toLowerCase());
    if (taken) throw new GraphHttpError(409, 'ErrorFolderExists', 'A folder with the specified name already exists.');
    const f = this.store.addFolder(user.id, displayName, parentId);
    return json(201, { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/mailFolders/$entity`, ...this.folderResource(user, f) });
  }

  private parse(text: string, sem: FilterSemantics): FilterNode {
    try {
      const node = parseFilter(text);
      checkFilterProperties(node, sem);
      return node;
    } catch (e) {
      if (e instanceof ODataSyntaxError) throw badQuery(e.message);
      throw e;
    }
  }

  private select(ctx: RequestContext, sem: FilterSemantics): string[] | null {
    let select: string[] | null;
    try {
      select = parseSelect(ctx.query.get('$select'));
    } catch (e) {
      throw badQuery((e as Error).message);
    }
    for (const s of select ?? []) if (!sem.properties.has(s.toLowerCase())) throw badQuery(`Could not find a property named '${s}' on type '${sem.typeName}'.`);
    return select;
  }

  private project(obj: Record<string, unknown>, select: string[] | null): Record<string, unknown> {
    if (!select) return obj;
    const out: Record<string, unknown> = { id: obj.id };
    for (const s of select) {
      const key = Object.keys(obj).find((k) => k.toLowerCase() === s.toLowerCase());
      if (key) out[key] = obj[key];
    }
    return out;
  }

  // ---- messages ------------------------------------------------------------

  private message(user: TenantUser, id: string, folderId?: string): StoredMessage {
    const m = this.store.message(user.id, id);
    if (!m || (folderId && m.folderId !== folderId)) {
      checkIdShape(id);
      throw itemNotFound();
    }
    return m;
  }

  /** `GET …/messages` (a folder's, or the whole mailbox's): $filter, $select, $expand, $orderby, $top (default 10, max 1000), $skip. */
  listMessages(ctx: RequestContext, user: TenantUser, folderId?: string): GraphResponse {
    const q = readMessageQuery(ctx);
    let messages = this.store.messages(user.id, folderId);
    const filterText = ctx.query.get('$filter');
    let node: FilterNode | undefined;
    if (filterText !== null) {
      node = this.parse(filterText, messageSemantics);
      if (this.settings().extendedPropertyFilter === 'refuse' && /extendedproperties\s*\//i.test(filterText)) {
        // The switch for a tenant that does not filter on extended properties (the canary's other answer).
        throw new GraphHttpError(400, 'ErrorInvalidUrlQueryFilter', 'The query filter contains one or more invalid nodes.');
      }
      const n = node;
      const lag = this.settings().filterLagInMs;
      messages = messages.filter((m) => !(lag > 0 && this.store.storedWithin(m.id, lag)) && matchesFilter(n, fullMessage(m), messageSemantics));
    }
    const orderby = ctx.query.get('$orderby');
    const order: { prop: string; desc: boolean }[] = orderby === null
      ? [{ prop: 'receivedDateTime', desc: true }]
      : orderby.split(',').map((part) => {
        const [prop, dir] = part.trim().split(/\s+/);
        if (!messageSemantics.properties.has(prop.toLowerCase()) || (dir && !/^(asc|desc)$/i.test(dir))) throw badQuery(`Invalid $orderby '${orderby}'.`);
        return { prop, desc: /^desc$/i.test(dir ?? '') };
      });
    if (orderby !== null && filterText !== null) {
      // Outlook: with $filter and $orderby together, the ordered properties must come first in the filter, in the same order.
      const filterLower = filterText.toLowerCase();
      let at = 0;
      for (const o of order) {
        const idx = filterLower.indexOf(o.prop.toLowerCase(), at);
        if (idx < 0 || (at === 0 && idx !== filterLower.search(/\S/))) {
          throw new GraphHttpError(400, 'InefficientFilter', 'The restriction or sort order is too complex for this operation.');
        }
        at = idx + o.prop.length;
      }
    }
    const full = messages.map((m) => ({ m, f: fullMessage(m) }));
    full.sort((a, b) => {
      for (const o of order) {
        const key = Object.keys(a.f).find((k) => k.toLowerCase() === o.prop.toLowerCase())!;
        const x = String(a.f[key] ?? '');
        const y = String(b.f[key] ?? '');
        if (x !== y) return (x < y ? -1 : 1) * (o.desc ? -1 : 1);
      }
      return a.m.id < b.m.id ? -1 : 1;
    });
    const top = readTop(ctx, 10, 1000);
    const { value, nextLink } = page(ctx, full, top, 'skip');
    const body: Record<string, unknown> = { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/messages` };
    if (nextLink) body['@odata.nextLink'] = nextLink;
    body.value = value.map(({ m }) => messageJson(m, ctx, q));
    return json(200, body);
  }

  /** `GET …/messages/{id}` with $select / $expand. */
  getMessage(ctx: RequestContext, user: TenantUser, id: string, folderId?: string): GraphResponse {
    const q = readMessageQuery(ctx);
    const m = this.message(user, id, folderId);
    return json(200, { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/messages/$entity`, ...messageJson(m, ctx, q) });
  }

  /** `GET …/messages/{id}/$value`: the MIME. */
  async getMessageMime(user: TenantUser, id: string): Promise<GraphResponse> {
    const m = this.message(user, id);
    return { status: 200, raw: await renderMime(m), contentType: 'text/plain' };
  }

  /**
   * `POST …/mailFolders/{id}/messages` and `POST …/messages` (Drafts): JSON
   * or, with Content-Type text/plain, base64 MIME. A message is a draft
   * unless PR_MESSAGE_FLAGS is given at creation without MSGFLAG_UNSENT;
   * PR_MESSAGE_DELIVERY_TIME and PR_CLIENT_SUBMIT_TIME set received and sent
   * times. (MIME creates always make drafts in v1.0, as the docs say.)
   */
  async createMessage(ctx: RequestContext, user: TenantUser, folderId: string): Promise<GraphResponse> {
    const folder = this.folder(user, folderId);
    const type = (ctx.headers['content-type'] ?? '').toLowerCase();
    if (type.startsWith('text/plain')) {
      const m = await this.messageFromMime(ctx, folder, true);
      await this.store.putMessage(user.id, m);
      return json(201, { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/messages/$entity`, ...messageJson(m, ctx, { select: null, expand: [] }) });
    }
    const body = readJsonBody(ctx);
    for (const k of Object.keys(body)) {
      if (!MESSAGE_WRITABLE.has(k.toLowerCase()) && !k.includes('@odata.')) {
        throw badRequest(`The property '${k}' does not exist on type 'microsoft.graph.message'. Make sure to only use property names that are defined by the type or mark the type as open type.`, 'RequestBodyRead');
      }
    }
    const props = parseExtended(getProp(body, 'singleValueExtendedProperties'));
    const headers = parseHeaders(getProp(body, 'internetMessageHeaders'));
    const rawAttachments = getProp(body, 'attachments');
    if (rawAttachments !== undefined && rawAttachments !== null && !Array.isArray(rawAttachments)) throw badRequest("'attachments' must be a collection.", 'RequestBodyRead');
    const attachments = ((rawAttachments as unknown[] | undefined) ?? []).map(parseFileAttachment);
    const flagsValue = this.settings().messageFlagsAtCreate === 'ignore' ? undefined : tagValue(props, 'Integer', PR_MESSAGE_FLAGS);
    const flags = flagsValue === undefined ? undefined : parseInt(flagsValue, 10);
    const honourTimes = this.settings().deliveryTime === 'honour';
    const created = now();
    const isDraft = flags === undefined ? true : (flags & MSGFLAG_UNSENT) !== 0;
    const isRead = flags === undefined ? true : (flags & MSGFLAG_READ) !== 0;
    const rawBody = getProp(body, 'body');
    let messageBody: StoredMessage['body'] = { contentType: 'text', content: '' };
    if (rawBody !== undefined && rawBody !== null) {
      const ct = getProp(rawBody as Record<string, unknown>, 'contentType');
      const content = getProp(rawBody as Record<string, unknown>, 'content');
      if ((ct !== undefined && (typeof ct !== 'string' || !/^(text|html)$/i.test(ct))) || (content !== undefined && typeof content !== 'string')) {
        throw badRequest("Invalid 'body': contentType must be 'text' or 'html' and content a string.", 'RequestBodyRead');
      }
      messageBody = { contentType: typeof ct === 'string' && /^html$/i.test(ct) ? 'html' : 'text', content: (content as string | undefined) ?? '' };
    }
    const subject = getProp(body, 'subject');
    const internetMessageId = getProp(body, 'internetMessageId');
    if (subject !== undefined && subject !== null && typeof subject !== 'string') throw badRequest("'subject' must be a string.", 'RequestBodyRead');
    if (internetMessageId !== undefined && internetMessageId !== null && typeof internetMessageId !== 'string') throw badRequest("'internetMessageId' must be a string.", 'RequestBodyRead');
    const from = getProp(body, 'from');
    const sender = getProp(body, 'sender');
    const fromJson = from ? recipient(from, 'from') : null;
    const message: StoredMessage = {
      id: newExchangeId(),
      folderId: folder.id,
      changeKey: newChangeKey(),
      createdDateTime: created,
      lastModifiedDateTime: created,
      // Graph returns message times to the second.
      receivedDateTime: (honourTimes ? toSecond(tagValue(props, 'SystemTime', PR_MESSAGE_DELIVERY_TIME)) : undefined) ?? created,
      sentDateTime: (honourTimes ? toSecond(tagValue(props, 'SystemTime', PR_CLIENT_SUBMIT_TIME)) : undefined) ?? created,
      subject: (subject as string | undefined) ?? '',
      body: messageBody,
      from: fromJson,
      sender: sender ? recipient(sender, 'sender') : fromJson,
      toRecipients: recipients(getProp(body, 'toRecipients'), 'toRecipients'),
      ccRecipients: recipients(getProp(body, 'ccRecipients'), 'ccRecipients'),
      bccRecipients: recipients(getProp(body, 'bccRecipients'), 'bccRecipients'),
      replyTo: recipients(getProp(body, 'replyTo'), 'replyTo'),
      internetMessageId: (internetMessageId as string | undefined) ?? `<${randomUUID().replace(/-/g, '')}@emulator.invalid>`,
      internetMessageHeaders: headers,
      isDraft,
      isRead,
      importance: typeof getProp(body, 'importance') === 'string' ? (getProp(body, 'importance') as string).toLowerCase() : 'normal',
      categories: Array.isArray(getProp(body, 'categories')) ? (getProp(body, 'categories') as string[]) : [],
      conversationId: `AAQkAG${createHash('sha256').update(String(subject ?? '')).digest('base64url').slice(0, 40)}=`,
      singleValueExtendedProperties: props,
      attachments,
    };
    if (totalBytes(message) > this.settings().maxMessageBytes) {
      throw new GraphHttpError(413, 'ErrorMessageSizeExceeded', 'The message exceeds the maximum supported size.');
    }
    await this.store.putMessage(user.id, message);
    return json(201, { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/messages/$entity`, ...messageJson(message, ctx, { select: null, expand: [] }) });
  }

  /** `POST /beta/users/{id}/mailFolders/{id}/importMime`: a non-draft message straight from base64 MIME (text/plain body). */
  async importMime(ctx: RequestContext, user: TenantUser, folderId: string): Promise<GraphResponse> {
    const folder = this.folder(user, folderId);
    const type = (ctx.headers['content-type'] ?? '').toLowerCase();
    if (!type.startsWith('text/plain')) throw new GraphHttpError(415, 'UnsupportedMediaType', 'importMime takes the base64 MIME as text/plain.');
    const m = await this.messageFromMime(ctx, folder, false);
    await this.store.putMessage(user.id, m);
    return json(201, { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/messages/$entity`, ...messageJson(m, ctx, { select: null, expand: [] }) });
  }

  private async messageFromMime(ctx: RequestContext, folder: StoredFolder, isDraft: boolean): Promise<StoredMessage> {
    const text = ctx.body.toString('latin1').replace(/\s+/g, '');
    if (!text || !isBase64(text)) throw badRequest('Invalid base64 string for MIME content.', 'ErrorMimeContentInvalidBase64String');
    const raw = Buffer.from(text, 'base64');
    const parsed = await parseMime(raw);
    const created = now();
    const date = parsed.date ? parsed.date.replace(/\.\d{3}Z$/, 'Z') : created;
    // Exchange keeps the X-headers of MIME it takes in as named properties in PS_INTERNET_HEADERS.
    const props: StoredExtendedProperty[] = parsed.headers
      .filter((h) => /^x-/i.test(h.name))
      .map((h) => ({ id: canonicalExtendedPropertyId({ type: 'String', guid: PS_INTERNET_HEADERS, name: h.name.toLowerCase() }), value: h.value }));
    return {
      id: newExchangeId(),
      folderId: folder.id,
      changeKey: newChangeKey(),
      createdDateTime: created,
      lastModifiedDateTime: created,
      receivedDateTime: isDraft ? created : date,
      sentDateTime: date,
      subject: parsed.subject,
      body: parsed.body,
      from: parsed.from,
      sender: parsed.sender,
      toRecipients: parsed.toRecipients,
      ccRecipients: parsed.ccRecipients,
      bccRecipients: parsed.bccRecipients,
      replyTo: parsed.replyTo,
      internetMessageId: parsed.internetMessageId,
      internetMessageHeaders: parsed.headers,
      isDraft,
      isRead: isDraft,
      importance: 'normal',
      categories: [],
      conversationId: `AAQkAG${createHash('sha256').update(parsed.subject).digest('base64url').slice(0, 40)}=`,
      singleValueExtendedProperties: props,
      attachments: parsed.attachments.map((a) => newAttachment(a.name, a.contentType, a.content, a.isInline, a.contentId)),
      mimeBase64: raw.toString('base64'),
    };
  }

  /** `PATCH …/messages/{id}`: isRead, categories, importance, flag and extended properties always; the rest only on drafts. PR_MESSAGE_FLAGS cannot make a saved message un-draft. */
  async updateMessage(ctx: RequestContext, user: TenantUser, id: string): Promise<GraphResponse> {
    const m = this.message(user, id);
    const body = readJsonBody(ctx);
    for (const k of Object.keys(body)) {
      const lower = k.toLowerCase();
      if (!MESSAGE_WRITABLE.has(lower)) throw badRequest(`The property '${k}' does not exist on type 'microsoft.graph.message'.`, 'RequestBodyRead');
      if (DRAFT_ONLY.has(lower) && !m.isDraft) {
        throw new GraphHttpError(400, 'ErrorInvalidPropertyUpdateSentMessage', `The property '${k}' can only be updated on a draft message.`);
      }
    }
    const isRead = getProp(body, 'isRead');
    if (typeof isRead === 'boolean') m.isRead = isRead;
    const categories = getProp(body, 'categories');
    if (Array.isArray(categories)) m.categories = categories.map(String);
    const subject = getProp(body, 'subject');
    if (typeof subject === 'string') m.subject = subject;
    const props = parseExtended(getProp(body, 'singleValueExtendedProperties'));
    for (const p of props) {
      // The unsent bit is fixed when the item is first saved; later writes of PR_MESSAGE_FLAGS do not change isDraft.
      const i = m.singleValueExtendedProperties.findIndex((x) => x.id === p.id);
      if (i >= 0) m.singleValueExtendedProperties[i] = p;
      else m.singleValueExtendedProperties.push(p);
    }
    m.changeKey = newChangeKey();
    m.lastModifiedDateTime = now();
    await this.store.putMessage(user.id, m);
    return json(200, { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/messages/$entity`, ...messageJson(m, ctx, { select: null, expand: [] }) });
  }

  /**
   * `DELETE …/messages/{id}`: as in Exchange, the message moves to Deleted
   * Items (with a new id, still carrying its properties); a DELETE of a
   * message already in Deleted Items removes it from the mailbox's view.
   */
  async deleteMessage(user: TenantUser, id: string): Promise<GraphResponse> {
    const m = this.message(user, id);
    const deletedItems = this.store.findFolder(user.id, 'deleteditems')!;
    if (m.folderId === deletedItems.id) this.store.deleteMessage(user.id, id);
    else await this.store.moveMessage(user.id, id, deletedItems.id);
    return { status: 204 };
  }

  /** `POST …/messages/{id}/permanentDelete`: gone from every folder at once (to the Purges dumpster, out of any client's reach). */
  permanentDeleteMessage(user: TenantUser, id: string, folderId?: string): GraphResponse {
    this.message(user, id, folderId);
    this.store.deleteMessage(user.id, id);
    return { status: 204 };
  }

  // ---- attachments -----------------------------------------------------------

  private checkNonDraft(m: StoredMessage): void {
    // Graph documents adding attachments to drafts only; 'refuse' answers as the strictest reading of that.
    if (!m.isDraft && this.settings().nonDraftAttachments === 'refuse') {
      throw new GraphHttpError(400, 'ErrorInvalidOperation', 'Attachments can only be added to a draft message.');
    }
  }

  /** `GET …/messages/{id}/attachments`. */
  listAttachments(ctx: RequestContext, user: TenantUser, id: string): GraphResponse {
    const m = this.message(user, id);
    let select: string[] | null;
    try {
      select = parseSelect(ctx.query.get('$select'));
    } catch (e) {
      throw badQuery((e as Error).message);
    }
    return json(200, {
      '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/messages('${m.id}')/attachments`,
      value: m.attachments.map((a) => selectAttachment(a, select)),
    });
  }

  /** `GET …/attachments/{id}` (and `/$value` for the raw bytes). */
  getAttachment(ctx: RequestContext, user: TenantUser, id: string, attachmentId: string, raw: boolean): GraphResponse {
    const m = this.message(user, id);
    const a = m.attachments.find((x) => x.id === attachmentId);
    if (!a) {
      checkIdShape(attachmentId);
      throw itemNotFound();
    }
    if (raw) return { status: 200, raw: Buffer.from(a.contentBase64, 'base64'), contentType: a.contentType };
    let select: string[] | null;
    try {
      select = parseSelect(ctx.query.get('$select'));
    } catch (e) {
      throw badQuery((e as Error).message);
    }
    return json(200, { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/messages('${m.id}')/attachments/$entity`, ...selectAttachment(a, select) });
  }

  /** `POST …/messages/{id}/attachments`: one fileAttachment, of a file under 3 MB as the docs say (larger ones go by an upload session). */
  async addAttachment(ctx: RequestContext, user: TenantUser, id: string): Promise<GraphResponse> {
    const m = this.message(user, id);
    this.checkNonDraft(m);
    const att = parseFileAttachment(readJsonBody(ctx));
    const fileBytes = Buffer.byteLength(att.contentBase64, 'base64');
    if (fileBytes >= UPLOAD_SESSION_MIN_BYTES) {
      throw new GraphHttpError(413, 'ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize',
        `A file of ${fileBytes} bytes is not under 3 MB; attach it with an upload session (createUploadSession).`);
    }
    m.attachments.push(att);
    if (totalBytes(m) > this.settings().maxMessageBytes) {
      m.attachments.pop();
      throw new GraphHttpError(413, 'ErrorMessageSizeExceeded', 'The message exceeds the maximum supported size.');
    }
    m.changeKey = newChangeKey();
    m.lastModifiedDateTime = now();
    await this.store.putMessage(user.id, m);
    return json(201, { '@odata.context': `${ctx.baseUrl}/$metadata#users('${user.id}')/messages('${m.id}')/attachments/$entity`, ...attachmentJson(att) });
  }

  /** `DELETE …/attachments/{id}`. */
  async deleteAttachment(user: TenantUser, id: string, attachmentId: string): Promise<GraphResponse> {
    const m = this.message(user, id);
    const i = m.attachments.findIndex((a) => a.id === attachmentId);
    if (i < 0) throw itemNotFound();
    m.attachments.splice(i, 1);
    m.changeKey = newChangeKey();
    await this.store.putMessage(user.id, m);
    return { status: 204 };
  }

  /**
   * `POST …/attachments/createUploadSession`: for files of 3 MB to 150 MB
   * (smaller ones get ErrorAttachmentSizeShouldNotBeLessThanMinimumSize, as
   * "Attach large files to Outlook messages" says); answers an opaque,
   * pre-authenticated uploadUrl on another host, and nextExpectedRanges ["0-"].
   */
  createUploadSession(ctx: RequestContext, user: TenantUser, id: string): GraphResponse {
    const m = this.message(user, id);
    this.checkNonDraft(m);
    const body = readJsonBody(ctx);
    const item = getProp(body, 'AttachmentItem');
    if (!item || typeof item !== 'object') throw badRequest("The 'AttachmentItem' parameter is required.", 'ErrorInvalidRequest');
    const it = item as Record<string, unknown>;
    const attachmentType = getProp(it, 'attachmentType');
    const name = getProp(it, 'name');
    const size = getProp(it, 'size');
    if (attachmentType !== 'file') throw badRequest("AttachmentItem.attachmentType must be 'file'.", 'ErrorInvalidRequest');
    if (typeof name !== 'string' || !name) throw badRequest('AttachmentItem.name is required.', 'ErrorInvalidRequest');
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw badRequest('AttachmentItem.size must be the file size in bytes.', 'ErrorInvalidRequest');
    if (size < UPLOAD_SESSION_MIN_BYTES) {
      throw new GraphHttpError(400, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
        'Attachment size must be greater than the minimum size (3 MB); attach smaller files with a POST on the attachments collection.');
    }
    if (size > MAX_ATTACHMENT_BYTES || totalBytes(m) + size > this.settings().maxMessageBytes) {
      throw new GraphHttpError(400, 'ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize', 'The attachment is larger than the maximum message size allows.');
    }
    const contentType = getProp(it, 'contentType');
    const contentId = getProp(it, 'contentId');
    const settings = this.settings();
    const session = this.store.createSession({
      userId: user.id,
      messageId: m.id,
      name,
      size,
      contentType: typeof contentType === 'string' && contentType ? contentType : 'application/octet-stream',
      isInline: getProp(it, 'isInline') === true,
      contentId: typeof contentId === 'string' ? contentId : null,
      expiresAt: Date.now() + settings.uploadSessionTtlInMs,
    });
    return json(201, {
      '@odata.context': `${ctx.baseUrl}/$metadata#microsoft.graph.uploadSession`,
      uploadUrl: `${settings.uploadBaseUrl}/api/v2.0/Users('${user.id}')/Messages('${encodeURIComponent(m.id)}')/AttachmentSessions('${session.id}')?authtoken=${session.token}`,
      expirationDateTime: new Date(session.expiresAt).toISOString(),
      nextExpectedRanges: ['0-'],
    });
  }
}

/** Parses `Content-Range: bytes {start}-{end}/{total}`. */
export function parseContentRange(value: string | undefined): { start: number; end: number; total: number } | null {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec((value ?? '').trim());
  if (!m) return null;
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return end >= start && end < total ? { start, end, total } : null;
}

/** Helper for the upload route: the attachment a finished session becomes. */
export function attachmentFromSession(meta: { name: string; contentType: string; isInline: boolean; contentId: string | null }, content: Buffer): StoredAttachment {
  return newAttachment(meta.name, meta.contentType, content, meta.isInline, meta.contentId);
}

export { now as nowIso };
