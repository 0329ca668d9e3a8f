/**
 * The HTTPS server: authentication, the 4 MB request limit, per-mailbox
 * throttling, fault injection, routing, JSON batching and the
 * pre-authenticated upload URL.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DEFAULT_EMULATOR_SEED } from '../../../shared/platform/config';
import { loadOrCreateCertificate } from './certificate';
import { GraphHttpError, graphErrorBody } from './errors';
import { FaultInjector, type FaultDecision } from './faults';
import { ODATA_JSON, type GraphResponse, type RequestContext } from './context';
import { MailRoutes, attachmentFromSession, parseContentRange, type MailSettings } from './mail';
import { GraphStore } from './store';
import { MailboxThrottle } from './throttling';
import { getUser, listUsers } from './users';
import type {
  DeliveryTimeMode, EmulatorStats, ExtendedPropertyFilterMode, FailRule, GraphEmulatorOptions, GraphLimits, MessageFlagsAtCreate, NonDraftAttachments,
  TenantUser, UploadSessionStatusMode,
} from './types';

/** A running emulator. */
export interface GraphEmulator {
  /** Base URL with the version, e.g. `https://127.0.0.1:PORT/v1.0`. */
  url: string;
  betaUrl: string;
  port: number;
  /** The self-signed certificate (its own trust anchor): pass as `ca`, or its file as NODE_EXTRA_CA_CERTS. */
  caCertPem: string;
  caCertPath?: string;
  token: string;
  /** Read access to users, folders and messages, for tests. */
  store: GraphStore;
  /** Throttling and fault counters. */
  stats(): EmulatorStats;
  resetStats(): void;
  /** Changes an option while running. */
  setOption<K extends keyof RuntimeOptions>(name: K, value: RuntimeOptions[K]): void;
  /** Makes the next matching request(s) fail. */
  failNext(rule: FailRule): void;
  stop(): Promise<void>;
}

/** Options that may change while the emulator runs. */
export interface RuntimeOptions {
  faultRate: number;
  nonDraftAttachments: NonDraftAttachments;
  messageFlagsAtCreate: MessageFlagsAtCreate;
  deliveryTime: DeliveryTimeMode;
  extendedPropertyFilter: ExtendedPropertyFilterMode;
  uploadSessionStatus: UploadSessionStatusMode;
  latencyInMs: number;
  filterLagInMs: number;
  limits: Partial<GraphLimits>;
  log: boolean;
}

const DEFAULT_LIMITS: GraphLimits = {
  concurrentPerMailbox: 4,
  requestsPer10Min: 10_000,
  uploadBytesPer5Min: 150 * 1024 * 1024,
  maxRequestBytes: 4 * 1024 * 1024,
  maxMessageBytes: 35 * 1024 * 1024,
  timeScale: 1,
};

const MAX_BATCH_REQUESTS = 20;
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function errorResponse(e: unknown, requestId: string, clientRequestId?: string): GraphResponse {
  if (e instanceof GraphHttpError) {
    return { status: e.status, headers: e.headers, json: graphErrorBody(e.code, e.message, requestId, clientRequestId) };
  }
  return { status: 500, json: graphErrorBody('InternalServerError', `Emulator error: ${(e as Error)?.message ?? String(e)}`, requestId, clientRequestId) };
}

function faultResponse(f: FaultDecision, requestId: string): GraphResponse {
  if (f.kind === 'reset') return { status: 0, reset: true };
  const headers: Record<string, string> = {};
  if (f.retryAfterInSeconds !== undefined) headers['Retry-After'] = String(f.retryAfterInSeconds);
  return { status: f.status, headers, json: graphErrorBody(f.code, f.message, requestId) };
}

/** Reads a request body, keeping no more than `limit + 1` bytes (enough to know it is too large). */
function readBody(req: IncomingMessage, limit: number): Promise<{ body: Buffer; tooLarge: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), tooLarge }));
    req.on('error', reject);
  });
}

class GraphEmulatorServer {
  readonly store: GraphStore;
  readonly faults: FaultInjector;
  readonly throttle: MailboxThrottle;
  readonly mail: MailRoutes;
  private limits: GraphLimits;
  private nonDraftAttachments: NonDraftAttachments;
  private messageFlagsAtCreate: MessageFlagsAtCreate;
  private deliveryTime: DeliveryTimeMode;
  private extendedPropertyFilter: ExtendedPropertyFilterMode;
  private uploadSessionStatus: UploadSessionStatusMode;
  private latencyInMs: number;
  private filterLagInMs: number;
  private log: boolean;
  private requests = 0;
  uploadBaseUrl = '';

  constructor(private readonly options: GraphEmulatorOptions, readonly token: string) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.nonDraftAttachments = options.nonDraftAttachments ?? 'allow';
    this.messageFlagsAtCreate = options.messageFlagsAtCreate ?? 'honour';
    this.deliveryTime = options.deliveryTime ?? 'honour';
    this.extendedPropertyFilter = options.extendedPropertyFilter ?? 'supported';
    this.uploadSessionStatus = options.uploadSessionStatus ?? 'answer';
    this.latencyInMs = options.latencyInMs ?? 0;
    this.filterLagInMs = options.filterLagInMs ?? 0;
    this.log = options.log ?? false;
    this.store = new GraphStore(options.users ?? [], options.stateDir);
    const rate = options.faultRate ?? 0;
    const seed = String(options.seed ?? DEFAULT_EMULATOR_SEED);
    this.faults = new FaultInjector(Number.isFinite(rate) ? rate : 0, seed, options.faultRetryAfterInSeconds);
    this.throttle = new MailboxThrottle(() => this.limits);
    this.mail = new MailRoutes(this.store, (): MailSettings => ({
      nonDraftAttachments: this.nonDraftAttachments,
      messageFlagsAtCreate: this.messageFlagsAtCreate,
      deliveryTime: this.deliveryTime,
      extendedPropertyFilter: this.extendedPropertyFilter,
      uploadSessionTtlInMs: options.uploadSessionTtlInMs ?? 15 * 60_000,
      uploadBaseUrl: this.uploadBaseUrl,
      maxMessageBytes: this.limits.maxMessageBytes,
      filterLagInMs: this.filterLagInMs,
    }));
  }

  setOption(name: keyof RuntimeOptions, value: unknown): void {
    switch (name) {
      case 'faultRate': this.faults.rate = value as number; break;
      case 'nonDraftAttachments': this.nonDraftAttachments = value as NonDraftAttachments; break;
      case 'messageFlagsAtCreate': this.messageFlagsAtCreate = value as MessageFlagsAtCreate; break;
      case 'deliveryTime': this.deliveryTime = value as DeliveryTimeMode; break;
      case 'extendedPropertyFilter': this.extendedPropertyFilter = value as ExtendedPropertyFilterMode; break;
      case 'uploadSessionStatus': this.uploadSessionStatus = value as UploadSessionStatusMode; break;
      case 'latencyInMs': this.latencyInMs = value as number; break;
      case 'filterLagInMs': this.filterLagInMs = value as number; break;
      case 'limits': this.limits = { ...this.limits, ...(value as Partial<GraphLimits>) }; break;
      case 'log': this.log = value as boolean; break;
      default: throw new RangeError(`unknown option ${String(name)}`);
    }
  }

  stats(): EmulatorStats {
    return { requests: this.requests, faults: { ...this.faults.injected }, mailboxes: this.throttle.stats() };
  }

  resetStats(): void {
    this.requests = 0;
    this.throttle.reset();
    for (const k of Object.keys(this.faults.injected)) delete this.faults.injected[k];
  }

  // ---- HTTP -----------------------------------------------------------------

  async handle(req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
    const requestId = randomUUID();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    const clientRequestId = headers['client-request-id'];
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', `https://127.0.0.1:${port}`);
    const respond = (r: GraphResponse) => this.write(res, r, requestId, clientRequestId, method, url.pathname);
    try {
      const { body, tooLarge } = await readBody(req, this.limits.maxRequestBytes);
      this.requests++;
      if (url.pathname.startsWith('/upload/')) {
        respond(await this.handleUpload(method, url, headers, body, tooLarge, requestId));
        return;
      }
      const match = /^\/(v1\.0|beta)(\/.*)?$/.exec(url.pathname);
      if (!match) {
        respond(errorResponse(new GraphHttpError(400, 'BadRequest', `Invalid version: ${url.pathname.split('/')[1] ?? ''}`), requestId, clientRequestId));
        return;
      }
      // Graph demands a bearer token on every call; an emulator that did not would hide a broken auth path.
      const auth = headers.authorization ?? '';
      const bearer = /^Bearer\s+(.+)$/i.exec(auth);
      if (!bearer) {
        respond(errorResponse(new GraphHttpError(401, 'InvalidAuthenticationToken', 'Access token is empty.', { 'WWW-Authenticate': 'Bearer realm=""' }), requestId, clientRequestId));
        return;
      }
      if (bearer[1].trim() !== this.token) {
        respond(errorResponse(new GraphHttpError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.', { 'WWW-Authenticate': 'Bearer realm=""' }), requestId, clientRequestId));
        return;
      }
      if (tooLarge) {
        respond(errorResponse(new GraphHttpError(413, 'RequestEntityTooLarge', `The request body exceeds the maximum of ${this.limits.maxRequestBytes} bytes that Microsoft Graph accepts.`), requestId, clientRequestId));
        return;
      }
      const version = match[1] as 'v1.0' | 'beta';
      const rawPath = match[2] ?? '/';
      const ctx = this.context(method, rawPath, url.searchParams, headers, body, version, port, requestId, false);
      respond(await this.execute(ctx, true));
    } catch (e) {
      respond(errorResponse(e, requestId, clientRequestId));
    }
  }

  private context(method: string, rawPath: string, query: URLSearchParams, headers: Record<string, string>, body: Buffer,
    version: 'v1.0' | 'beta', port: number, requestId: string, inBatch: boolean): RequestContext {
    let segments: string[];
    try {
      segments = rawPath.split('/').filter((s) => s.length > 0).map((s) => decodeURIComponent(s));
    } catch {
      throw new GraphHttpError(400, 'BadRequest', 'The request URL is not correctly encoded.');
    }
    return {
      method, path: rawPath, segments, query, headers, body, version, requestId, inBatch,
      baseUrl: `https://127.0.0.1:${port}/${version}`,
    };
  }

  private write(res: ServerResponse, r: GraphResponse, requestId: string, clientRequestId: string | undefined, method: string, pathname: string): void {
    if (this.log) process.stderr.write(`[graph-emulator] ${method} ${pathname} -> ${r.reset ? 'RESET' : r.status}\n`);
    if (r.reset) {
      res.socket?.destroy();
      return;
    }
    const headers: Record<string, string> = {
      'request-id': requestId,
      'Cache-Control': 'no-cache',
      ...(clientRequestId ? { 'client-request-id': clientRequestId } : {}),
      ...r.headers,
    };
    let payload: Buffer | undefined;
    if (r.raw) {
      payload = r.raw;
      headers['Content-Type'] = r.contentType ?? 'application/octet-stream';
    } else if (r.json !== undefined) {
      payload = Buffer.from(JSON.stringify(r.json));
      headers['Content-Type'] = ODATA_JSON;
      headers['OData-Version'] = '4.0';
    }
    headers['Content-Length'] = String(payload?.length ?? 0);
    res.writeHead(r.status, headers);
    res.end(payload);
  }

  /** The mailbox a request is for (Outlook limits apply per mailbox), if any. */
  private mailboxOf(ctx: RequestContext): TenantUser | undefined {
    if (ctx.segments[0]?.toLowerCase() !== 'users' || ctx.segments.length < 3) return undefined;
    const user = this.store.findUser(ctx.segments[1]);
    return user?.hasMailbox ? user : undefined;
  }

  /** Faults, throttling, latency and routing for one request (top-level or inside a batch). */
  async execute(ctx: RequestContext, allowReset: boolean): Promise<GraphResponse> {
    const fault = this.faults.decide(ctx.method, ctx.path, ctx.method !== 'GET', allowReset);
    if (fault && !fault.afterExecution) return faultResponse(fault, ctx.requestId);
    let release: (() => void) | undefined;
    let result: GraphResponse;
    try {
      const mailbox = this.mailboxOf(ctx);
      if (mailbox) release = this.throttle.admit(mailbox.id, WRITE_METHODS.has(ctx.method) ? ctx.body.length : 0);
      if (this.latencyInMs > 0 && mailbox) await sleep(this.latencyInMs);
      result = await this.route(ctx);
    } catch (e) {
      result = errorResponse(e, ctx.requestId, ctx.headers['client-request-id']);
    } finally {
      release?.();
    }
    if (fault) return faultResponse(fault, ctx.requestId);
    return result;
  }

  private notFoundSegment(segment: string): GraphHttpError {
    return new GraphHttpError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
  }

  private methodNotAllowed(): GraphHttpError {
    return new GraphHttpError(405, 'BadRequest', 'Specified HTTP method is not allowed for the request target.');
  }

  private async route(ctx: RequestContext): Promise<GraphResponse> {
    const s = ctx.segments;
    const m = ctx.method;
    const head = s[0]?.toLowerCase();
    if (head === '$batch' && s.length === 1) {
      if (m !== 'POST') throw this.methodNotAllowed();
      if (ctx.inBatch) throw new GraphHttpError(400, 'BadRequest', 'A batch cannot contain another batch.');
      return this.batch(ctx);
    }
    if (head === 'me') throw new GraphHttpError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
    if (head !== 'users') throw this.notFoundSegment(s[0] ?? '');
    if (s.length === 1) {
      if (m !== 'GET') throw this.methodNotAllowed();
      return listUsers(ctx, this.store);
    }
    if (s.length === 2) {
      if (m !== 'GET') throw this.methodNotAllowed();
      return getUser(ctx, this.store, s[1]);
    }
    const user = this.store.findUser(s[1]);
    if (!user) throw new GraphHttpError(404, 'ErrorInvalidUser', `The requested user '${s[1]}' is invalid.`);
    if (!user.hasMailbox) throw new GraphHttpError(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.');
    const rest = s.slice(2);
    const r0 = rest[0].toLowerCase();
    if (r0 === 'mailfolders') return this.routeFolders(ctx, user, rest.slice(1));
    if (r0 === 'messages') {
      if (rest.length === 1) {
        if (m === 'GET') return this.mail.listMessages(ctx, user);
        if (m === 'POST') return this.mail.createMessage(ctx, user, 'drafts');
        throw this.methodNotAllowed();
      }
      return this.routeMessage(ctx, user, rest[1], rest.slice(2));
    }
    throw this.notFoundSegment(rest[0]);
  }

  private async routeFolders(ctx: RequestContext, user: TenantUser, rest: string[]): Promise<GraphResponse> {
    const m = ctx.method;
    if (rest.length === 0) {
      if (m === 'GET') return this.mail.listFolders(ctx, user, this.store.rootId(user.id));
      if (m === 'POST') return this.mail.createFolder(ctx, user, this.store.rootId(user.id));
      throw this.methodNotAllowed();
    }
    const folderId = rest[0];
    if (rest.length === 1) {
      if (m === 'GET') return this.mail.getFolder(ctx, user, folderId);
      throw this.methodNotAllowed();
    }
    const sub = rest[1].toLowerCase();
    if (sub === 'childfolders' && rest.length === 2) {
      const parent = this.store.findFolder(user.id, folderId);
      if (!parent) return this.mail.getFolder(ctx, user, folderId);
      if (m === 'GET') return this.mail.listFolders(ctx, user, parent.id);
      if (m === 'POST') return this.mail.createFolder(ctx, user, parent.id);
      throw this.methodNotAllowed();
    }
    if (sub === 'importmime' && rest.length === 2) {
      // A beta action: v1.0 does not know the segment.
      if (ctx.version !== 'beta') throw this.notFoundSegment(rest[1]);
      if (m !== 'POST') throw this.methodNotAllowed();
      return this.mail.importMime(ctx, user, folderId);
    }
    if (sub === 'messages') {
      if (rest.length === 2) {
        const folder = this.store.findFolder(user.id, folderId);
        if (m === 'GET') {
          if (!folder) return this.mail.getFolder(ctx, user, folderId);
          return this.mail.listMessages(ctx, user, folder.id);
        }
        if (m === 'POST') return this.mail.createMessage(ctx, user, folderId);
        throw this.methodNotAllowed();
      }
      const folder = this.store.findFolder(user.id, folderId);
      if (!folder) return this.mail.getFolder(ctx, user, folderId);
      return this.routeMessage(ctx, user, rest[2], rest.slice(3), folder.id);
    }
    throw this.notFoundSegment(rest[1]);
  }

  private async routeMessage(ctx: RequestContext, user: TenantUser, id: string, rest: string[], folderId?: string): Promise<GraphResponse> {
    const m = ctx.method;
    if (rest.length === 0) {
      if (m === 'GET') return this.mail.getMessage(ctx, user, id, folderId);
      if (m === 'PATCH') return this.mail.updateMessage(ctx, user, id);
      if (m === 'DELETE') return this.mail.deleteMessage(user, id);
      throw this.methodNotAllowed();
    }
    const sub = rest[0];
    if (/^(microsoft\.graph\.)?permanentdelete$/i.test(sub) && rest.length === 1) {
      if (m !== 'POST') throw this.methodNotAllowed();
      // "Don't supply a request body for this method."
      if (ctx.body.length > 0) throw new GraphHttpError(400, 'BadRequest', 'The action permanentDelete takes no request body.');
      return this.mail.permanentDeleteMessage(user, id, folderId);
    }
    if (sub === '$value' && rest.length === 1) {
      if (m !== 'GET') throw this.methodNotAllowed();
      return this.mail.getMessageMime(user, id);
    }
    if (sub.toLowerCase() === 'attachments') {
      if (rest.length === 1) {
        if (m === 'GET') return this.mail.listAttachments(ctx, user, id);
        if (m === 'POST') return this.mail.addAttachment(ctx, user, id);
        throw this.methodNotAllowed();
      }
      if (rest[1] === 'createUploadSession' || rest[1].toLowerCase() === 'microsoft.graph.createuploadsession') {
        if (rest.length !== 2) throw this.notFoundSegment(rest[2]);
        if (m !== 'POST') throw this.methodNotAllowed();
        return this.mail.createUploadSession(ctx, user, id);
      }
      if (rest.length === 2) {
        if (m === 'GET') return this.mail.getAttachment(ctx, user, id, rest[1], false);
        if (m === 'DELETE') return this.mail.deleteAttachment(user, id, rest[1]);
        throw this.methodNotAllowed();
      }
      if (rest.length === 3 && rest[2] === '$value' && m === 'GET') return this.mail.getAttachment(ctx, user, id, rest[1], true);
    }
    throw this.notFoundSegment(sub);
  }

  // ---- JSON batching ------------------------------------------------------------

  /**
   * `POST /$batch` ("Combine multiple HTTP requests using JSON batching"): at
   * most 20 requests with unique ids; each is evaluated on its own against
   * the throttling limits; without dependsOn up to 4 run at once, with it
   * they run in order and a failed dependency gives 424.
   */
  private async batch(ctx: RequestContext): Promise<GraphResponse> {
    let payload: unknown;
    try {
      payload = JSON.parse(ctx.body.toString('utf8'));
    } catch {
      throw new GraphHttpError(400, 'BadRequest', 'Invalid batch payload format.');
    }
    const requests = (payload as { requests?: unknown })?.requests;
    if (!Array.isArray(requests)) throw new GraphHttpError(400, 'BadRequest', 'Invalid batch payload format.');
    if (requests.length > MAX_BATCH_REQUESTS) throw new GraphHttpError(400, 'BadRequest', 'Number of requests inside batch exceeds the limit.');
    const ids = new Set<string>();
    for (const r of requests as Record<string, unknown>[]) {
      if (!r || typeof r.id !== 'string' || typeof r.method !== 'string' || typeof r.url !== 'string') {
        throw new GraphHttpError(400, 'BadRequest', 'Each batch request needs string id, method and url.');
      }
      if (ids.has(r.id.toLowerCase())) throw new GraphHttpError(400, 'BadRequest', 'Batch request contains duplicate request ids.');
      ids.add(r.id.toLowerCase());
    }
    for (const r of requests as Record<string, unknown>[]) {
      const deps = r.dependsOn;
      if (deps !== undefined && (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string' || !ids.has(d.toLowerCase())))) {
        throw new GraphHttpError(400, 'BadRequest', `Request '${String(r.id)}' depends on a request that is not in the batch.`);
      }
    }
    const port = Number(new URL(ctx.baseUrl).port);
    const results = new Map<string, Promise<{ id: string; status: number; headers: Record<string, string>; body?: unknown }>>();
    let running = 0;
    const waiters: (() => void)[] = [];
    const slot = async () => {
      while (running >= 4) await new Promise<void>((resolve) => waiters.push(resolve));
      running++;
    };
    const free = () => {
      running--;
      waiters.shift()?.();
    };
    for (const raw of requests as Record<string, unknown>[]) {
      const item = raw as { id: string; method: string; url: string; headers?: Record<string, string>; body?: unknown; dependsOn?: string[] };
      const run = async () => {
        for (const d of item.dependsOn ?? []) {
          const dep = await results.get(d.toLowerCase());
          if (!dep || dep.status >= 400) {
            return { id: item.id, status: 424, headers: { 'Content-Type': 'application/json' }, body: graphErrorBody('FailedDependency', `Request depends on '${d}', which failed.`, ctx.requestId) };
          }
        }
        await slot();
        try {
          return await this.batchItem(ctx, item, port);
        } finally {
          free();
        }
      };
      results.set(item.id.toLowerCase(), run());
    }
    const responses = await Promise.all([...results.values()]);
    return { status: 200, json: { responses } };
  }

  private async batchItem(outer: RequestContext, item: { id: string; method: string; url: string; headers?: Record<string, string>; body?: unknown },
    port: number): Promise<{ id: string; status: number; headers: Record<string, string>; body?: unknown }> {
    const requestId = randomUUID();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(item.headers ?? {})) headers[k.toLowerCase()] = String(v);
    let response: GraphResponse;
    try {
      if (/^https?:/i.test(item.url)) throw new GraphHttpError(400, 'BadRequest', 'Batch request urls must be relative to the version root.');
      let body = Buffer.alloc(0);
      if (item.body !== undefined) {
        // The batching docs: when a body is supplied, the request's headers must include Content-Type.
        if (!headers['content-type']) throw new GraphHttpError(400, 'BadRequest', 'Content-Type header is required when a body is supplied.');
        body = headers['content-type'].toLowerCase().startsWith('application/json')
          ? Buffer.from(JSON.stringify(item.body))
          : Buffer.from(String(item.body), 'base64');
      }
      const u = new URL(item.url.startsWith('/') ? item.url : `/${item.url}`, 'https://batch.invalid');
      const ctx = this.context(item.method.toUpperCase(), u.pathname, u.searchParams, { ...headers, authorization: outer.headers.authorization ?? '' },
        body, outer.version, port, requestId, true);
      response = await this.execute(ctx, false);
    } catch (e) {
      response = errorResponse(e, requestId);
    }
    const outHeaders: Record<string, string> = { ...response.headers };
    let body: unknown;
    if (response.raw) {
      outHeaders['Content-Type'] = response.contentType ?? 'application/octet-stream';
      body = response.raw.toString('base64');
    } else if (response.json !== undefined) {
      outHeaders['Content-Type'] = 'application/json';
      body = response.json;
    }
    return { id: item.id, status: response.status, headers: outHeaders, ...(body !== undefined ? { body } : {}) };
  }

  // ---- the pre-authenticated upload URL ------------------------------------------------

  /**
   * PUT / GET / DELETE on an uploadUrl. "Do not specify an Authorization
   * request header": the URL carries its own token, and a bearer token for
   * Graph is refused (its audience is not this endpoint). Ranges must come
   * in order, each up to 4 MB; the last one answers 201 with a Location.
   */
  private async handleUpload(method: string, url: URL, headers: Record<string, string>, body: Buffer, tooLarge: boolean, requestId: string): Promise<GraphResponse> {
    const m = /AttachmentSessions\('([^']+)'\)$/.exec(decodeURIComponent(url.pathname));
    const session = m ? this.store.session(m[1]) : undefined;
    if (!session) return errorResponse(new GraphHttpError(404, 'ErrorItemNotFound', 'The upload session was not found.'), requestId);
    if (headers.authorization !== undefined) {
      return errorResponse(new GraphHttpError(401, 'InvalidAuthenticationToken',
        'The upload URL is pre-authenticated: do not send an Authorization header (a Graph token is not valid for this endpoint).'), requestId);
    }
    if (url.searchParams.get('authtoken') !== session.meta.token) {
      return errorResponse(new GraphHttpError(401, 'InvalidAuthenticationToken', 'The authtoken of the upload URL is missing or wrong.'), requestId);
    }
    if (Date.now() > session.meta.expiresAt) {
      this.store.dropSession(session.meta.id);
      return errorResponse(new GraphHttpError(404, 'ErrorItemNotFound', 'The upload session has expired.'), requestId);
    }
    if (tooLarge) {
      return errorResponse(new GraphHttpError(413, 'RequestEntityTooLarge', `Each range must be at most ${this.limits.maxRequestBytes} bytes.`), requestId);
    }
    const user = this.store.users.find((u) => u.id === session.meta.userId)!;
    const fault = this.faults.decide(method, `/upload/sessions/${session.meta.id}`, method !== 'GET', true);
    if (fault && !fault.afterExecution) return faultResponse(fault, requestId);
    let release: (() => void) | undefined;
    let result: GraphResponse;
    try {
      release = this.throttle.admit(user.id, method === 'PUT' ? body.length : 0);
      if (this.latencyInMs > 0) await sleep(this.latencyInMs);
      result = await this.uploadAction(method, headers, body, session, user);
    } catch (e) {
      result = errorResponse(e, requestId);
    } finally {
      release?.();
    }
    if (fault) return faultResponse(fault, requestId);
    return result;
  }

  private async uploadAction(method: string, headers: Record<string, string>, body: Buffer,
    session: NonNullable<ReturnType<GraphStore['session']>>, user: TenantUser): Promise<GraphResponse> {
    const meta = session.meta;
    const status = () => ({ expirationDateTime: new Date(meta.expiresAt).toISOString(), nextExpectedRanges: [`${meta.received}`] });
    if (method === 'DELETE') {
      this.store.dropSession(meta.id);
      return { status: 204 };
    }
    if (method === 'GET') {
      // Undocumented for Outlook attachment sessions: answered or refused by the uploadSessionStatus switch.
      if (this.uploadSessionStatus === 'refuse') throw this.methodNotAllowed();
      return { status: 200, json: status() };
    }
    if (method !== 'PUT') throw this.methodNotAllowed();
    const range = parseContentRange(headers['content-range']);
    if (!range) throw new GraphHttpError(400, 'ErrorInvalidContentRange', "Content-Range must be 'bytes {start}-{end}/{total}'.");
    if (range.total !== meta.size) {
      throw new GraphHttpError(400, 'ErrorInvalidContentRange', `The total size ${range.total} differs from the session's ${meta.size}.`);
    }
    if (range.end - range.start + 1 !== body.length) {
      throw new GraphHttpError(400, 'ErrorInvalidContentRange', `Content-Range covers ${range.end - range.start + 1} bytes but the body has ${body.length}.`);
    }
    if (range.start !== meta.received) {
      // "You must upload bytes in a file in order."
      throw new GraphHttpError(416, 'ErrorRangeNotSatisfiable', `Expected the range starting at byte ${meta.received}.`);
    }
    this.store.appendToSession(meta.id, body);
    if (meta.received < meta.size) return { status: 200, json: status() };
    const message = this.store.message(user.id, meta.messageId);
    if (!message) {
      this.store.dropSession(meta.id);
      throw new GraphHttpError(404, 'ErrorItemNotFound', 'The message of this upload session no longer exists.');
    }
    const attachment = attachmentFromSession(meta, Buffer.concat(session.chunks));
    message.attachments.push(attachment);
    message.lastModifiedDateTime = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await this.store.putMessage(user.id, message);
    this.store.dropSession(meta.id);
    return {
      status: 201,
      headers: { Location: `${this.uploadBaseUrl}/api/v2.0/Users('${user.id}')/Messages('${encodeURIComponent(message.id)}')/Attachments('${encodeURIComponent(attachment.id)}')` },
    };
  }
}

/** Starts the emulator on HTTPS with a certificate made at start (or reused from `stateDir`). */
export async function startGraphEmulator(options: GraphEmulatorOptions = {}): Promise<GraphEmulator> {
  const token = options.token ?? 'dev-token';
  if (options.stateDir) mkdirSync(options.stateDir, { recursive: true });
  const cert = await loadOrCreateCertificate(options.stateDir ? path.join(options.stateDir, 'graph-emulator') : undefined);
  const emulator = new GraphEmulatorServer(options, token);
  let port = 0;
  const sockets = new Set<import('node:net').Socket>();
  const server = https.createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    void emulator.handle(req, res, port);
  });
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  emulator.uploadBaseUrl = `https://${options.uploadHost ?? 'localhost'}:${port}/upload`;
  return {
    url: `https://127.0.0.1:${port}/v1.0`,
    betaUrl: `https://127.0.0.1:${port}/beta`,
    port,
    caCertPem: cert.certPem,
    caCertPath: cert.certPath,
    token,
    store: emulator.store,
    stats: () => emulator.stats(),
    resetStats: () => emulator.resetStats(),
    setOption: (name, value) => emulator.setOption(name, value),
    failNext: (rule) => emulator.faults.failNext(rule),
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
