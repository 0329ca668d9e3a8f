/**
 * The HTTP transport under the Graph SDK: node:https with a keep-alive agent.
 *
 * Why not the SDK's HTTPMessageHandler (global fetch)? On Node 20 global fetch
 * is the bundled undici, which trusts an extra CA only through a `dispatcher`
 * (an undici Agent) — and undici is not importable from Node, nor installed
 * here — or through NODE_EXTRA_CA_CERTS, read once at process start. A local
 * Graph emulator makes its certificate at start, so the client must trust a
 * PEM given at run time: node:https takes `ca` directly. The same transport
 * serves the PUTs to pre-authenticated upload URLs, which must carry no
 * Authorization header.
 */
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Context, Middleware } from '@microsoft/microsoft-graph-client';
import { NETWORK_ERROR_NAME } from './errors';

export interface HttpTransportOptions {
  /** Extra certificate(s) to trust beside the system CAs (PEM). */
  caCertPem?: string;
  /** Abandon a request that has not completed in this time (then it is retried as a network error). */
  requestTimeoutInMs?: number;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Uint8Array | null;
}

/** Sends one HTTP request and returns a WHATWG Response (what the SDK expects of fetch). */
export type HttpSend = (request: HttpRequest) => Promise<Response>;

/** Null-body statuses: the Response constructor refuses a body for them. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** Builds the transport: one keep-alive agent per protocol, trusting `caCertPem` in addition to the system CAs. */
export function createHttpTransport(options: HttpTransportOptions = {}): HttpSend {
  const ca = options.caCertPem ? [...tls.rootCertificates, options.caCertPem] : undefined;
  // One secure context for every connection: a `ca` option would re-parse all root certificates per connection
  // and make every request's pool key a string of all of them.
  const secureContext = ca ? tls.createSecureContext({ ca }) : undefined;
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, ...(secureContext ? { secureContext } : {}) });
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const timeoutInMs = options.requestTimeoutInMs ?? 120_000;

  return (request) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(request.url);
      const isHttps = url.protocol === 'https:';
      // A Buffer body is sent as it is: an upload range is megabytes, and a copy of each would be garbage until the next GC.
      const body = request.body == null ? undefined : typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : asBuffer(request.body);
      const headers: Record<string, string> = { ...(request.headers ?? {}) };
      if (body !== undefined) headers['Content-Length'] = String(body.length);
      const req = (isHttps ? https : http).request(
        url,
        { method: request.method, headers, agent: isHttps ? httpsAgent : httpAgent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => reject(networkError(error)));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (value === undefined) continue;
              for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v);
            }
            const payload = NULL_BODY_STATUSES.has(status) || request.method === 'HEAD' ? null : Buffer.concat(chunks);
            try {
              resolve(new Response(payload, { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
            } catch (error) {
              reject(networkError(error));
            }
          });
        },
      );
      req.setTimeout(timeoutInMs, () => req.destroy(new Error(`ETIMEDOUT: no answer within ${timeoutInMs} ms`)));
      req.on('error', (error) => reject(networkError(error)));
      writeBody(req, body).catch(() => undefined); // a failed write fails the request: its 'error' rejects above
    });
}

/** Bytes written to the socket at a time: TLS encrypts what it is given at once, so a whole range would be a second copy in native memory. */
const WRITE_SLICE_BYTES = 64 * 1024;

/** Writes the body slice by slice, each once the socket has taken the one before, then ends the request. */
async function writeBody(req: http.ClientRequest, body: Buffer | undefined): Promise<void> {
  if (body === undefined || body.length <= WRITE_SLICE_BYTES) {
    req.end(body);
    return;
  }
  for (let start = 0; start < body.length; start += WRITE_SLICE_BYTES) {
    if (req.destroyed) return;
    if (!req.write(body.subarray(start, start + WRITE_SLICE_BYTES))) await once(req, 'drain');
  }
  req.end();
}

/** A view of the bytes as a Buffer, without copying them. */
function asBuffer(bytes: Buffer | Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A transport failure with no HTTP answer, named so that the classifier retries it. */
function networkError(cause: unknown): Error {
  const code = (cause as { code?: string })?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  const error = new Error(`${code ? `${code}: ` : ''}${message}`, { cause });
  error.name = NETWORK_ERROR_NAME;
  return error;
}

/** Converts whatever header shape the SDK hands over into a plain object. */
function plainHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  if (headers instanceof Headers) {
    headers.forEach((value, name) => (out[name] = value));
  } else if (Array.isArray(headers)) {
    for (const [name, value] of headers as string[][]) out[name] = value;
  } else {
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
      if (value !== undefined && value !== null) out[name] = String(value);
    }
  }
  return out;
}

/**
 * The last middleware of the SDK chain: sends the request through our
 * transport instead of global fetch (see the module comment for why).
 */
export class NodeHttpMessageHandler implements Middleware {
  constructor(private readonly send: HttpSend) {}

  /** Sends the context's request and stores the Response on the context. */
  async execute(context: Context): Promise<void> {
    const request = context.request;
    const url = typeof request === 'string' ? request : request.url;
    const options = context.options ?? {};
    const body = options.body as HttpRequest['body'] | undefined;
    if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
      throw new TypeError('the Graph transport sends only string or Buffer bodies');
    }
    context.response = await this.send({
      method: (options.method ?? 'GET').toUpperCase(),
      url,
      headers: plainHeaders(options.headers),
      body,
    });
  }
}
