/**
 * The TeleMessage archive emulator: the contract's API
 * (contracts/telemessage-archive-api.md) over node:http, with tokens that
 * expire, seeded transient faults, and switches for tests.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { DEFAULT_EMULATOR_SEED } from '../../../shared/platform/config';
import { FaultPlan, type EmulatorRoute, type FaultKind } from './faults';
import type { EmulatorMedia } from './media';
import { ArchiveStore, BadRequest } from './store';

export interface TeleMessageEmulatorOptions {
  /** Records as the archive holds them (invalid ones on purpose too); inline media are served from the media endpoint. */
  items?: readonly unknown[];
  /** Media bodies not given inline (large seeded files, say). */
  media?: Iterable<EmulatorMedia>;
  username?: string;
  password?: string;
  /** Share of requests answered with a seeded transient fault, 0..1. */
  faultRate?: number;
  seed?: string;
  tokenTtlSeconds?: number;
  /** Repeat the last item of a page at the top of the next page, as the contract allows. */
  duplicateAcrossPages?: boolean;
  /** How late a `slow` fault answers. */
  slowAnswerMs?: number;
  /** Accept every request and never answer it. */
  neverAnswer?: boolean;
  port?: number;
  host?: string;
  /** Told of each request: route, status, fault; never a secret or message text. */
  log?: (line: string) => void;
}

export interface TeleMessageEmulatorStats {
  requests: number;
  logins: number;
  refusedLogins: number;
  listings: number;
  mediaDownloads: number;
  /** Answers refused for an expired or unknown token. */
  unauthorised: number;
  badRequests: number;
  faults: Record<FaultKind, number>;
}

export interface TeleMessageEmulator {
  /** Base URL for TELEMESSAGE_BASE_URL, without a trailing slash. */
  url: string;
  port: number;
  username: string;
  password: string;
  stats: TeleMessageEmulatorStats;
  /** Forces `kind` on the next `count` requests (of `route`, when given). */
  failNext(count: number, kind: FaultKind, route?: EmulatorRoute): void;
  /** Every token issued so far answers 401 from now on. */
  expireTokens(): void;
  setNeverAnswer(on: boolean): void;
  /** Adds records (late arrivals) and media bodies. */
  addItems(items: readonly unknown[], media?: Iterable<EmulatorMedia>): void;
  /** Forgets one media body: its endpoint answers 404 from now on. */
  removeMedia(itemId: string, mediaId: string): boolean;
  stop(): Promise<void>;
}

const DEFAULTS = {
  username: 'archiver@contoso.example',
  password: 'emulator-password',
  seed: DEFAULT_EMULATOR_SEED,
  tokenTtlSeconds: 3600,
  slowAnswerMs: 250,
};
const MAX_LOGIN_BODY_BYTES = 64 * 1024;
const MEDIA_PATH = /^\/api\/v1\/archive\/items\/([^/]+)\/media\/([^/]+)$/;

/** Starts the emulator; resolves once it listens (port 0, the default, picks a free port). */
export async function startTeleMessageEmulator(options: TeleMessageEmulatorOptions = {}): Promise<TeleMessageEmulator> {
  const username = options.username ?? DEFAULTS.username;
  const password = options.password ?? DEFAULTS.password;
  const tokenTtlSeconds = options.tokenTtlSeconds ?? DEFAULTS.tokenTtlSeconds;
  const slowAnswerMs = options.slowAnswerMs ?? DEFAULTS.slowAnswerMs;
  const store = new ArchiveStore(options.items ?? [], options.media ?? []);
  const faults = new FaultPlan(options.faultRate ?? 0, options.seed ?? DEFAULTS.seed, options.neverAnswer ?? false);
  const tokens = new Map<string, number>();
  const stats: TeleMessageEmulatorStats = {
    requests: 0, logins: 0, refusedLogins: 0, listings: 0, mediaDownloads: 0, unauthorised: 0, badRequests: 0,
    faults: { throttle: 0, unavailable: 0, reset: 0, slow: 0, hang: 0 },
  };
  const log = options.log ?? (() => undefined);

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }

  function authorised(req: IncomingMessage): boolean {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const expiresAt = match ? tokens.get(match[1]) : undefined;
    return expiresAt !== undefined && Date.now() < expiresAt;
  }

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: { username?: unknown; password?: unknown };
    try {
      body = JSON.parse((await readBody(req, MAX_LOGIN_BODY_BYTES)).toString('utf8'));
    } catch {
      stats.badRequests++;
      return sendJson(res, 400, { error: 'invalid_request' });
    }
    if (body?.username !== username || body?.password !== password) {
      stats.refusedLogins++;
      return sendJson(res, 401, { error: 'invalid_credentials' });
    }
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, Date.now() + tokenTtlSeconds * 1000);
    stats.logins++;
    sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: tokenTtlSeconds });
  }

  function list(url: URL, res: ServerResponse): void {
    const pageSizeText = url.searchParams.get('pageSize') ?? '';
    const pageSize = /^\d{1,4}$/.test(pageSizeText) ? Number(pageSizeText) : NaN;
    const from = url.searchParams.get('from');
    const to = url.searchParams.get('to');
    if (!(pageSize >= 1 && pageSize <= 1000) || from === null || to === null) {
      stats.badRequests++;
      return sendJson(res, 400, { error: 'invalid_request', detail: 'from, to and pageSize (1..1000) are required' });
    }
    try {
      const page = store.page(from, to, pageSize, url.searchParams.get('cursor'), options.duplicateAcrossPages ?? false);
      stats.listings++;
      sendJson(res, 200, page);
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      stats.badRequests++;
      sendJson(res, 400, { error: 'invalid_request', detail: error.message });
    }
  }

  function media(itemId: string, mediaId: string, res: ServerResponse): void {
    const body = store.findMedia(itemId, mediaId);
    if (!body) return sendJson(res, 404, { error: 'not_found' });
    stats.mediaDownloads++;
    res.writeHead(200, { 'content-type': body.contentType, 'content-length': String(body.size) });
    pipeline(body.open(), res, () => undefined);
  }

  function routeOf(method: string, path: string): EmulatorRoute | null {
    if (method === 'POST' && path === '/api/v1/auth/token') return 'auth';
    if (method === 'GET' && path === '/api/v1/archive/items') return 'list';
    if (method === 'GET' && MEDIA_PATH.test(path)) return 'media';
    return null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://emulator');
    const route = routeOf(req.method ?? 'GET', url.pathname);
    if (route === null) return sendJson(res, 404, { error: 'not_found' });

    const fault = faults.next(route);
    if (fault) {
      stats.faults[fault]++;
      log(`telemessage ${route}: fault ${fault}`);
      if (fault === 'hang') return; // Held open until stop() closes every connection.
      if (fault === 'reset') return void req.socket.destroy();
      if (fault === 'throttle') return sendJson(res, 429, { error: 'too_many_requests' }, { 'retry-after': '1' });
      if (fault === 'unavailable') return sendJson(res, 503, { error: 'service_unavailable' });
      await delay(slowAnswerMs); // slow: then answer properly
    }

    if (route === 'auth') return login(req, res);
    if (!authorised(req)) {
      stats.unauthorised++;
      return sendJson(res, 401, { error: 'invalid_token' });
    }
    if (route === 'list') return list(url, res);
    const [, itemId, mediaId] = MEDIA_PATH.exec(url.pathname) ?? [];
    let ids: [string, string];
    try {
      ids = [decodeURIComponent(itemId), decodeURIComponent(mediaId)];
    } catch {
      stats.badRequests++;
      return sendJson(res, 400, { error: 'invalid_request' });
    }
    media(ids[0], ids[1], res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`telemessage: internal error ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal_error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host ?? '127.0.0.1';
  log(`telemessage emulator on port ${port}: ${store.size} records (${store.unplaceable} without a usable timestamp left out)`);

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    username,
    password,
    stats,
    failNext: (count, kind, route) => faults.failNext(count, kind, route),
    expireTokens: () => tokens.clear(),
    setNeverAnswer: (on) => {
      faults.neverAnswer = on;
    },
    addItems: (items, extra) => store.add(items, extra),
    removeMedia: (itemId, mediaId) => store.removeMedia(itemId, mediaId),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Held (hanging) and keep-alive connections would keep close() waiting forever.
        server.closeAllConnections();
      }),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw new RangeError('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
