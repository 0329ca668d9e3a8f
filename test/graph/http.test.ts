/**
 * The Graph transport (shared/platform/graph/http.ts) with large bodies: an
 * upload range goes out as the very Buffer it was given, slice by slice as
 * the socket takes it, over https as over http, and arrives byte for byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadOrCreateCertificate } from '../../local/emulators/graph/certificate';
import { createHttpTransport } from '../../shared/platform/graph/http';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A server that answers each request with the length and SHA-256 of the body it read (slowly, to make the client wait for drains). */
async function echoServer(secure: boolean) {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
      req.pause();
      setImmediate(() => req.resume());
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ length, sha256: hash.digest('hex'), contentLength: req.headers['content-length'] }));
    });
  };
  const cert = secure ? await loadOrCreateCertificate() : undefined;
  const server = cert ? https.createServer({ key: cert.keyPem, cert: cert.certPem }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${secure ? 'https' : 'http'}://127.0.0.1:${port}/upload`,
    caCertPem: cert?.certPem,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe('Graph transport', () => {
  for (const secure of [true, false]) {
    it(`sends a large Buffer body whole and unchanged, and a small one, over ${secure ? 'https' : 'http'}`, async () => {
      const server = await echoServer(secure);
      try {
        const send = createHttpTransport({ caCertPem: server.caCertPem });
        const large = randomBytes(3 * 1024 * 1024 + 17);
        for (const body of [large, large.subarray(100, 200_100), new Uint8Array(large.buffer, large.byteOffset + 5, 70_000), 'short text']) {
          const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
          const response = await send({ method: 'PUT', url: server.url, headers: { 'Content-Type': 'application/octet-stream' }, body });
          expect(response.status).toBe(200);
          expect(await response.json()).toEqual({ length: bytes.length, sha256: sha256(bytes), contentLength: String(bytes.length) });
        }
      } finally {
        await server.stop();
      }
    });
  }
});
