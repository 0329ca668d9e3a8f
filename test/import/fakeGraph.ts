/**
 * A small fake of the Graph endpoints the importer and directory call, at the
 * transport seam (the real SDK, middleware and retry run on top of it). Used
 * until the strict emulator in local/emulators/graph is ready; it follows
 * Graph's documented answers for these calls, not more.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { HttpRequest, HttpSend } from '../../shared/platform/graph/http';
import { itemKey } from '../../shared/model/item';
import type { ArchivedEmail } from '../../shared/model/stages';

export const FAKE_BASE = 'https://127.0.0.1:1/v1.0';
export const FAKE_TOKEN = 'fake-token';
const UPLOAD_HOST = 'https://upload.fake.invalid';

export interface FakeMessage {
  id: string;
  folderId: string;
  json: Record<string, unknown>;
  attachments: { name: string; size: number }[];
}

export interface FailRule {
  method: string;
  path: RegExp;
  status: number;
  code?: string;
  times: number;
  retryAfterInSeconds?: number;
  /** Carry the request out, then answer with the failure (the answer is lost). */
  afterExecution?: boolean;
  /** Let this many matching requests through first. */
  skip?: number;
}

export interface FakeUser {
  id: string;
  userPrincipalName: string;
  mail: string | null;
  proxyAddresses: string[];
  hasMailbox?: boolean;
}

export class FakeGraph {
  readonly users = new Map<string, FakeUser>();
  readonly folders = new Map<string, { id: string; displayName: string }[]>();
  readonly messages = new Map<string, FakeMessage[]>();
  readonly rules: FailRule[] = [];
  readonly log: { method: string; path: string; status: number }[] = [];
  /** Refuse every attachment added after the create (POST or upload session), as Graph may on a non-draft message. */
  refuseSeparateAttachments = false;
  inFlight = new Map<string, number>();
  maxInFlight = new Map<string, number>();
  uploadAuthHeaders = 0;
  /** What a GET on an upload URL does: Outlook documents only PUT and DELETE there. */
  uploadStatus: 'answer' | 'refuse' = 'answer';
  private sessions = new Map<string, { mailboxId: string; messageId: string; name: string; size: number; received: number }>();

  addUser(upn: string, options: Partial<FakeUser> = {}): FakeUser {
    const user: FakeUser = { id: options.id ?? randomUUID(), userPrincipalName: upn, mail: options.mail ?? upn, proxyAddresses: options.proxyAddresses ?? [`SMTP:${upn}`], hasMailbox: options.hasMailbox ?? true };
    this.users.set(user.id, user);
    this.folders.set(user.id, [{ id: 'inbox-' + user.id, displayName: 'Inbox' }]);
    this.messages.set(user.id, []);
    return user;
  }

  /** The id of the user's archive folder, made when missing (tests put left-behind copies there). */
  archiveFolder(userId: string, displayName = 'O2 SMS and Voice Network Archiver'): string {
    const folders = this.folders.get(userId)!;
    let folder = folders.find((f) => f.displayName.toLowerCase() === displayName.toLowerCase());
    if (!folder) {
      folder = { id: randomUUID(), displayName };
      folders.push(folder);
    }
    return folder.id;
  }

  fail(rule: Omit<FailRule, 'times'> & { times?: number }): void {
    this.rules.push({ times: 1, ...rule });
  }

  /** The first rule that matches, counting down its skips and times. */
  private match(method: string, path: string): FailRule | undefined {
    for (const r of this.rules) {
      if (r.times <= 0 || r.method !== method || !r.path.test(path)) continue;
      if (r.skip) {
        r.skip--;
        continue;
      }
      r.times--;
      return r;
    }
    return undefined;
  }

  messagesOf(mailboxId: string): FakeMessage[] {
    return this.messages.get(mailboxId) ?? [];
  }

  countWithItemId(mailboxId: string, itemId: string): number {
    return this.messagesOf(mailboxId).filter((m) => itemIdOf(m) === itemId).length;
  }

  readonly send: HttpSend = async (request) => {
    const url = new URL(request.url);
    const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    if (url.origin === UPLOAD_HOST) {
      if (headers.authorization) this.uploadAuthHeaders++;
      const rule = this.match(request.method, url.pathname);
      if (rule && !rule.afterExecution) return this.record(request, url.pathname, failure(rule));
      const response = this.upload(request, url, headers);
      return this.record(request, url.pathname, rule ? failure(rule) : response);
    }
    if (headers.authorization !== `Bearer ${FAKE_TOKEN}`) return json(401, { error: { code: 'InvalidAuthenticationToken', message: 'no token' } });
    const path = decodeURIComponent(url.pathname.replace(/^\/v1\.0/, ''));
    const mailboxId = /^\/users\/([^/]+)\//.exec(path)?.[1];
    if (mailboxId) {
      const n = (this.inFlight.get(mailboxId) ?? 0) + 1;
      this.inFlight.set(mailboxId, n);
      this.maxInFlight.set(mailboxId, Math.max(this.maxInFlight.get(mailboxId) ?? 0, n));
    }
    try {
      // Hold the request a little so that concurrent ones overlap as they would on the wire.
      await new Promise((resolve) => setTimeout(resolve, 3));
      const rule = this.match(request.method, path);
      if (rule && !rule.afterExecution) return this.record(request, path, failure(rule));
      const response = this.route(request, path, url);
      return this.record(request, path, rule ? failure(rule) : response);
    } finally {
      if (mailboxId) this.inFlight.set(mailboxId, (this.inFlight.get(mailboxId) ?? 1) - 1);
    }
  };

  private record(request: HttpRequest, path: string, response: Response): Response {
    this.log.push({ method: request.method, path, status: response.status });
    return response;
  }

  private route(request: HttpRequest, path: string, url: URL): Response {
    const body = request.body ? JSON.parse(Buffer.from(request.body as Buffer).toString('utf8')) : undefined;
    const filter = url.searchParams.get('$filter') ?? '';
    if (request.method === 'GET' && path === '/users') return json(200, { value: this.findUsers(filter) });
    if (request.method === 'POST' && path === '/$batch') {
      return json(200, {
        responses: (body.requests as { id: string; url: string }[]).map((r) => {
          const u = new URL(r.url, 'https://x.invalid/');
          return { id: r.id, status: 200, headers: {}, body: { value: this.findUsers(u.searchParams.get('$filter') ?? '') } };
        }),
      });
    }
    const m = /^\/users\/([^/]+)(\/.*)$/.exec(path);
    if (!m) return json(404, { error: { code: 'BadRequest', message: 'unknown path' } });
    const [, userId, rest] = m;
    const user = this.users.get(userId);
    if (!user) return json(404, { error: { code: 'ErrorInvalidUser', message: `The requested user '${userId}' is invalid.` } });
    const folders = this.folders.get(userId)!;
    const messages = this.messages.get(userId)!;
    if (rest === '/mailFolders' && request.method === 'GET') {
      const name = /displayName eq '((?:[^']|'')*)'/.exec(filter)?.[1]?.replace(/''/g, "'");
      return json(200, { value: folders.filter((f) => name === undefined || f.displayName.toLowerCase() === name.toLowerCase()) });
    }
    if (rest === '/mailFolders' && request.method === 'POST') {
      if (folders.some((f) => f.displayName.toLowerCase() === String(body.displayName).toLowerCase())) {
        return json(409, { error: { code: 'ErrorFolderExists', message: 'A folder with the specified name already exists.' } });
      }
      const folder = { id: randomUUID(), displayName: body.displayName as string };
      folders.push(folder);
      return json(201, folder);
    }
    let mm = /^\/mailFolders\/([^/]+)\/messages$/.exec(rest);
    if (mm && request.method === 'POST') {
      if (!folders.some((f) => f.id === mm![1])) return json(404, { error: { code: 'ErrorItemNotFound', message: 'no folder' } });
      const attachments = ((body.attachments ?? []) as { name: string; contentBytes: string }[]).map((a) => ({
        name: a.name,
        // Graph reports the attachment item's size, a little more than the file.
        size: Buffer.from(a.contentBytes, 'base64').length + 100,
      }));
      const message: FakeMessage = { id: randomUUID(), folderId: mm[1], json: body, attachments };
      messages.push(message);
      return json(201, { id: message.id });
    }
    if (mm && request.method === 'GET') {
      const value = /ep\/value eq '((?:[^']|'')*)'/.exec(filter)?.[1]?.replace(/''/g, "'");
      const folderId = mm[1];
      return json(200, { value: messages.filter((x) => x.folderId === folderId && itemIdOf(x) === value).map((x) => ({ id: x.id, attachments: x.attachments })) });
    }
    mm = /^\/messages\/([^/]+)\/permanentDelete$/.exec(rest);
    if (mm && request.method === 'POST') {
      const i = messages.findIndex((x) => x.id === mm![1]);
      if (i < 0) return json(404, { error: { code: 'ErrorItemNotFound', message: 'gone' } });
      messages.splice(i, 1);
      return new Response(null, { status: 204 });
    }
    mm = /^\/messages\/([^/]+)$/.exec(rest);
    if (mm && request.method === 'DELETE') {
      const i = messages.findIndex((x) => x.id === mm![1]);
      if (i < 0) return json(404, { error: { code: 'ErrorItemNotFound', message: 'gone' } });
      messages.splice(i, 1);
      return new Response(null, { status: 204 });
    }
    mm = /^\/messages\/([^/]+)\/attachments$/.exec(rest);
    if (mm && request.method === 'GET') {
      const message = messages.find((x) => x.id === mm![1]);
      if (!message) return json(404, { error: { code: 'ErrorItemNotFound', message: 'gone' } });
      return json(200, { value: message.attachments });
    }
    mm = /^\/messages\/([^/]+)\/attachments(\/createUploadSession)?$/.exec(rest);
    if (mm && request.method === 'POST') {
      const message = messages.find((x) => x.id === mm![1]);
      if (!message) return json(404, { error: { code: 'ErrorItemNotFound', message: 'gone' } });
      if (this.refuseSeparateAttachments) return json(403, { error: { code: 'ErrorAccessDenied', message: 'Access is denied.' } });
      if (mm[2]) {
        const item = body.AttachmentItem as { name: string; size: number };
        const id = randomUUID();
        this.sessions.set(id, { mailboxId: userId, messageId: message.id, name: item.name, size: item.size, received: 0 });
        return json(201, { uploadUrl: `${UPLOAD_HOST}/sessions/${id}?authtoken=x`, nextExpectedRanges: ['0-'] });
      }
      message.attachments.push({ name: body.name, size: Buffer.from(body.contentBytes, 'base64').length + 100 });
      return json(201, { id: randomUUID() });
    }
    return json(400, { error: { code: 'BadRequest', message: `unsupported ${request.method} ${rest}` } });
  }

  private upload(request: HttpRequest, url: URL, headers: Record<string, string>): Response {
    const id = url.pathname.split('/').pop()!;
    const session = this.sessions.get(id);
    if (!session) return json(404, { error: { code: 'ErrorItemNotFound', message: 'no session' } });
    if (request.method === 'DELETE') {
      this.sessions.delete(id);
      return new Response(null, { status: 204 });
    }
    if (request.method === 'GET') {
      if (this.uploadStatus === 'refuse') return json(405, { error: { code: 'BadRequest', message: 'method not allowed' } });
      return json(200, { nextExpectedRanges: [`${session.received}`] });
    }
    if (Number(/^bytes (\d+)-/.exec(headers['content-range'] ?? '')?.[1]) !== session.received) {
      return json(416, { error: { code: 'ErrorRangeNotSatisfiable', message: 'expected another range' } });
    }
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(headers['content-range'] ?? '');
    const length = Buffer.from(request.body as Buffer).length;
    if (!range || Number(range[1]) !== session.received || Number(range[2]) - Number(range[1]) + 1 !== length || length >= 4_000_000) {
      return json(400, { error: { code: 'InvalidRange', message: 'bad range' } });
    }
    session.received += length;
    if (session.received < session.size) return json(200, { nextExpectedRanges: [`${session.received}-`] });
    const message = this.messagesOf(session.mailboxId).find((x) => x.id === session.messageId)!;
    message.attachments.push({ name: session.name, size: session.size + 100 });
    // A finished session is gone: its URL answers 404 from now on, as Outlook's does.
    this.sessions.delete(id);
    return new Response(null, { status: 201, headers: { Location: `https://graph.invalid/attachments/${id}` } });
  }

  private findUsers(filter: string): FakeUser[] {
    const values = [...filter.matchAll(/'((?:[^']|'')*)'/g)].map((x) => x[1].replace(/''/g, "'").toLowerCase());
    return [...this.users.values()].filter((u) =>
      values.some(
        (v) =>
          v === u.userPrincipalName.toLowerCase() ||
          v === (u.mail ?? '').toLowerCase() ||
          u.proxyAddresses.some((p) => p.toLowerCase() === v),
      ),
    );
  }
}

function itemIdOf(m: FakeMessage): string | undefined {
  const props = (m.json.singleValueExtendedProperties ?? []) as { id: string; value: string }[];
  return props.find((p) => /Name O2ArchiverItemId$/.test(p.id))?.value;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

function failure(rule: FailRule): Response {
  const headers: Record<string, string> = rule.retryAfterInSeconds !== undefined ? { 'Retry-After': String(rule.retryAfterInSeconds) } : {};
  return json(rule.status, { error: { code: rule.code ?? 'Failure', message: 'injected' } }, headers);
}

/** An in-memory staging store with one email and its media. */
export class FakeStaging {
  readonly blobs = new Map<string, Buffer>();
  readonly media = new Map<string, Buffer>();

  add(email: ArchivedEmail, media: Record<string, Buffer> = {}): void {
    this.blobs.set(`${email.itemKey}/message.json`, Buffer.from(JSON.stringify(email)));
    for (const [id, bytes] of Object.entries(media)) this.media.set(`${email.itemKey}/${id}`, bytes);
  }

  async readItemBlob(key: string, name: string): Promise<Buffer> {
    const blob = this.blobs.get(`${key}/${name}`);
    if (!blob) throw new Error(`no blob ${name}`);
    return blob;
  }

  async readMediaRange(key: string, mediaId: string, start: number, end: number): Promise<Buffer> {
    const bytes = this.media.get(`${key}/${mediaId}`);
    if (!bytes) throw new Error('no media');
    return bytes.subarray(start, end);
  }

  async openMedia(key: string, mediaId: string): Promise<Readable> {
    const bytes = this.media.get(`${key}/${mediaId}`);
    if (!bytes) throw new Error('no media');
    return Readable.from([bytes]);
  }
}

/** A converted email for item `id` with the given attachments. */
export function sampleEmail(id: string, attachments: ArchivedEmail['attachments'] = []): ArchivedEmail {
  return {
    itemId: id,
    itemKey: itemKey(id),
    itemType: attachments.length ? 'mms' : 'sms',
    messageId: `<${itemKey(id).slice(0, 40)}@o2-network-archiver>`,
    date: '2024-05-01T10:11:12.345Z',
    subject: `SMS ${id}`,
    from: { name: 'Bob (+447700900123)', address: '447700900123@mobile.invalid' },
    to: [{ name: 'Alice', address: 'alice@contoso.com' }],
    text: 'hello',
    archiverHeaders: {
      'X-O2Archiver-Item-Id': id,
      'X-O2Archiver-Item-Type': attachments.length ? 'mms' : 'sms',
      'X-O2Archiver-Direction': 'inbound',
      'X-O2Archiver-Source-SHA256': 'f'.repeat(64),
    },
    references: '<t@o2-network-archiver>',
    threadTopic: 'Bob, Alice',
    attachments,
  };
}
