/**
 * A tiny HTTPS client for the emulator tests: node:https with the emulator's
 * certificate as `ca` (Node's fetch cannot trust a CA per call), and a fresh
 * connection per request so concurrency is real.
 */
import https from 'node:https';

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  buffer: Buffer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface TestRequestOptions {
  headers?: Record<string, string>;
  body?: unknown;
  /** Send these bytes as they are (no JSON encoding). */
  raw?: Buffer | string;
}

/** Sends one request and collects the whole response; `error` is set when the connection dropped. */
export function request(ca: string, method: string, url: string, options: TestRequestOptions = {}): Promise<TestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: Buffer | undefined;
  if (options.raw !== undefined) payload = Buffer.isBuffer(options.raw) ? options.raw : Buffer.from(options.raw);
  else if (options.body !== undefined) {
    payload = Buffer.from(JSON.stringify(options.body));
    headers['Content-Type'] ??= 'application/json';
  }
  if (payload) headers['Content-Length'] = String(payload.length);
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const buffer = Buffer.concat(chunks);
        const text = buffer.toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, buffer, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A client bound to one emulator and token. */
export function client(emulator: { url: string; caCertPem: string; token: string }) {
  const auth = { Authorization: `Bearer ${emulator.token}` };
  const full = (p: string) => (p.startsWith('https://') ? p : `${emulator.url}${p}`);
  return {
    get: (p: string, headers: Record<string, string> = {}) => request(emulator.caCertPem, 'GET', full(p), { headers: { ...auth, ...headers } }),
    post: (p: string, body: unknown, headers: Record<string, string> = {}) => request(emulator.caCertPem, 'POST', full(p), { body, headers: { ...auth, ...headers } }),
    postRaw: (p: string, raw: Buffer | string, headers: Record<string, string>) => request(emulator.caCertPem, 'POST', full(p), { raw, headers: { ...auth, ...headers } }),
    patch: (p: string, body: unknown) => request(emulator.caCertPem, 'PATCH', full(p), { body, headers: auth }),
    del: (p: string) => request(emulator.caCertPem, 'DELETE', full(p), { headers: auth }),
    /** No Authorization header: for the pre-authenticated upload URL (and the 401 tests). */
    anonymous: (method: string, url: string, options: TestRequestOptions = {}) => request(emulator.caCertPem, method, full(url), options),
  };
}

/** `encodeURIComponent` for path segments and OData literals. */
export const enc = encodeURIComponent;
