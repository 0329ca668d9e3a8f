/**
 * The Functions host's HTTP front, in small, for `o2-archiver serve`: a
 * node:http server that routes `/api/<route>` to the registered HTTP
 * functions (the very handlers Azure runs), demands their keys as the host
 * does (`x-functions-key` header or `?code=`; the admin key for
 * `authLevel: 'admin'`), and hands each an @azure/functions HttpRequest and
 * InvocationContext built in the package's test mode.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import type { RegisteredFunction } from '../driver/functionsCore';

export interface LocalHttpKeys {
  /** Accepted by `authLevel: 'function'` routes. */
  functionKey: string;
  /** Accepted by every route, and the only key `authLevel: 'admin'` routes accept. */
  adminKey: string;
}

export interface LocalHttpOptions {
  functions: Map<string, RegisteredFunction>;
  keys: LocalHttpKeys;
  port?: number;
  host?: string;
  /** One line per request (method, path, status: never a key, a body or a query string). */
  log?: (line: string) => void;
}

export interface LocalHttpServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  url: string;
  port: number;
  /** The routes served, for the start-up message. */
  routes: { name: string; methods: string[]; path: string; authLevel: string }[];
  stop(): Promise<void>;
}

interface Route {
  fn: RegisteredFunction;
  methods: string[];
  authLevel: string;
  template: string;
  pattern: RegExp;
  paramNames: string[];
}

interface HttpTriggerBinding {
  type: string;
  direction: string;
  authLevel?: string;
  methods?: string[];
  route?: string;
}

const MAX_BODY_BYTES = 6 * 1024 * 1024;

/** Starts the server over the registered HTTP functions; resolves once it listens. */
export async function startLocalHttpServer(options: LocalHttpOptions): Promise<LocalHttpServer> {
  const routes = httpRoutes(options.functions);
  const log = options.log ?? (() => undefined);
  const server = createServer((req, res) => {
    serve(req, res, routes, options.keys).then(
      (status) => log(`${req.method} ${pathOf(req)}: ${status}`),
      (e) => {
        log(`${req.method} ${pathOf(req)}: 500 ${e instanceof Error ? e.message : String(e)}`);
        if (!res.headersSent) send(res, 500, { 'content-type': 'application/json' }, JSON.stringify({ error: 'internal error' }));
        else res.destroy();
      },
    );
  });
  await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    routes: routes.map((r) => ({ name: r.fn.name, methods: r.methods, path: `/api/${r.template}`, authLevel: r.authLevel })),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The HTTP functions among the registrations, as routes (authLevel defaults to 'anonymous', as in Azure). */
export function httpRoutes(functions: Map<string, RegisteredFunction>): Route[] {
  const routes: Route[] = [];
  for (const fn of functions.values()) {
    if (fn.triggerType !== 'httpTrigger') continue;
    const bindings = (fn.metadata.bindings ?? {}) as Record<string, HttpTriggerBinding>;
    const trigger = Object.values(bindings).find((b) => b.type === 'httpTrigger' && b.direction === 'in');
    if (!trigger) continue;
    const template = (trigger.route ?? fn.name).replace(/^\/+|\/+$/g, '');
    const paramNames: string[] = [];
    const source = template
      .split('/')
      .map((segment) => {
        const param = /^\{(\w+)\??(?::[^}]*)?\}$/.exec(segment);
        if (param) {
          paramNames.push(param[1]);
          return '([^/]+)';
        }
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    routes.push({
      fn,
      methods: (trigger.methods ?? ['GET', 'POST']).map((m) => m.toUpperCase()),
      authLevel: trigger.authLevel ?? 'anonymous',
      template,
      pattern: new RegExp(`^/api/${source}/?$`, 'i'),
      paramNames,
    });
  }
  return routes;
}

async function serve(req: IncomingMessage, res: ServerResponse, routes: Route[], keys: LocalHttpKeys): Promise<number> {
  const method = (req.method ?? 'GET').toUpperCase();
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
  } catch {
    return reply(res, 400, { error: 'the request target or the Host header is not a valid URL' });
  }
  const matches = routes.map((route) => ({ route, match: route.pattern.exec(url.pathname) })).filter((m) => m.match);
  const found = matches.find((m) => m.route.methods.includes(method));
  // The key first, as the Functions host does: without one, a 404 or 405 would tell which routes exist.
  if (found?.route.authLevel !== 'anonymous') {
    const refusal = checkKey(found?.route.authLevel ?? 'function', req.headers['x-functions-key'], url.searchParams.get('code'), keys);
    if (refusal) return reply(res, refusal.status, { error: refusal.message });
  }
  if (matches.length === 0) return reply(res, 404, { error: `no function answers ${url.pathname}` });
  if (!found) {
    const allowed = [...new Set(matches.flatMap((m) => m.route.methods))];
    return reply(res, 405, { error: `${method} is not allowed on ${url.pathname}; use ${allowed.join(', ')}` }, { allow: allowed.join(', ') });
  }
  const { route, match } = found;
  let params: Record<string, string>;
  try {
    params = Object.fromEntries(route.paramNames.map((name, i) => [name, decodeURIComponent(match![i + 1])]));
  } catch {
    return reply(res, 400, { error: `the path ${url.pathname.slice(0, 200)} holds a malformed percent-encoding` });
  }

  const body = await readBody(req);
  if (body === 'too-large') return reply(res, 413, { error: `the body is larger than ${MAX_BODY_BYTES} bytes` });
  const request = new HttpRequest({
    method,
    url: url.toString(),
    headers: headersOf(req),
    query: Object.fromEntries(url.searchParams),
    params,
    ...(body.length > 0 ? { body: { bytes: body } } : {}),
  });
  const context = new InvocationContext({
    invocationId: randomUUID(),
    functionName: route.fn.name,
    // The handlers log through context.log: the serve command's own output keeps them quiet.
    logHandler: () => undefined,
  });
  const result = (await route.fn.handler(request, context)) as HttpResponseInit | undefined;
  return writeResponse(res, result ?? { status: 204 });
}

/** The host's key rules: no or an unknown key → 401; a function key where the admin key is needed → 403. */
function checkKey(
  authLevel: string,
  header: string | string[] | undefined,
  code: string | null,
  keys: LocalHttpKeys,
): { status: number; message: string } | undefined {
  if (authLevel === 'anonymous') return undefined;
  const given = (Array.isArray(header) ? header[0] : header) ?? code ?? '';
  if (!given) return { status: 401, message: 'a key is required: send it as the x-functions-key header or ?code=' };
  const isAdmin = same(given, keys.adminKey);
  const isFunction = same(given, keys.functionKey);
  if (!isAdmin && !isFunction) return { status: 401, message: 'the key is not valid' };
  if (authLevel === 'admin' && !isAdmin) return { status: 403, message: 'this route needs the admin key' };
  return undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function headersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

async function writeResponse(res: ServerResponse, init: HttpResponseInit): Promise<number> {
  const status = init.status ?? 200;
  const headers: Record<string, string> = {};
  if (init.headers) {
    const entries = init.headers instanceof Headers ? [...init.headers.entries()] : Object.entries(init.headers as Record<string, string>);
    for (const [k, v] of entries) headers[k.toLowerCase()] = String(v);
  }
  let body: Buffer;
  if (init.jsonBody !== undefined) {
    body = Buffer.from(JSON.stringify(init.jsonBody));
    headers['content-type'] ??= 'application/json';
  } else if (typeof init.body === 'string') body = Buffer.from(init.body);
  else if (init.body instanceof Uint8Array) body = Buffer.from(init.body);
  else if (init.body === undefined || init.body === null) body = Buffer.alloc(0);
  else throw new TypeError('the local server answers string, bytes or jsonBody responses only');
  send(res, status, headers, body);
  return status;
}

function reply(res: ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}): number {
  send(res, status, { 'content-type': 'application/json; charset=utf-8', ...extra }, JSON.stringify(value));
  return status;
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** The path only: `?code=` holds a key and never reaches a log. */
function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0];
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
