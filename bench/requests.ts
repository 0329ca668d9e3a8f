/**
 * Counts the HTTP requests this process sends to Azurite, by operation
 * (`blob put`, `table batch`, `queue receive`, ...), with the bytes of their
 * bodies, by wrapping node:http's request functions (the Azure SDKs send
 * through them). Requests of other processes are not seen: the bench runs the
 * pipeline in this process.
 */
import http from 'node:http';

export type Service = 'blob' | 'queue' | 'table';

/** What one kind of operation cost in one run. */
export interface OperationCount {
  requests: number;
  /** Request-body bytes, in all. */
  bodyBytes: number;
  /** Entities sent, for table batches (changesets in all). */
  entities: number;
  /** Response-body bytes, in all, as the responses' Content-Length says. */
  responseBytes: number;
}

export interface RequestCounter {
  /** Requests seen, by operation. */
  operations(): Record<string, OperationCount>;
  total(service?: Service): number;
  reset(): void;
  /** Puts node:http back as it was. */
  stop(): void;
}

/** Names the operation a request to Azurite makes, from its service, method and path. */
export function operationOf(service: Service, method: string, pathAndQuery: string): string {
  const [rawPath, query = ''] = pathAndQuery.split('?');
  const params = new URLSearchParams(query);
  const comp = params.get('comp');
  // Azurite's paths start with the account: /devstoreaccount1/<container or queue or table>/...
  const segments = rawPath.split('/').filter(Boolean).slice(1);
  if (service === 'blob') {
    if (params.get('restype') === 'container') return comp === 'list' ? 'blob list' : `blob container ${method}`;
    if (comp === 'tags') return method === 'PUT' ? 'blob set tags' : 'blob get tags';
    if (comp === 'metadata') return 'blob set metadata';
    if (comp === 'block' || comp === 'blocklist') return 'blob put block';
    if (method === 'PUT') return 'blob put';
    if (method === 'GET') return 'blob get';
    if (method === 'HEAD') return 'blob head';
    if (method === 'DELETE') return 'blob delete';
    return `blob ${method}`;
  }
  if (service === 'queue') {
    if (segments[1] === 'messages') {
      if (segments.length > 2) return method === 'DELETE' ? 'queue delete' : 'queue update';
      if (method === 'POST') return 'queue send';
      if (method === 'GET') return params.get('peekonly') ? 'queue peek' : 'queue receive';
      return `queue messages ${method}`;
    }
    if (comp === 'metadata') return 'queue depth';
    return `queue ${method}`;
  }
  if (segments[0] === '$batch') return 'table batch';
  if (segments[0]?.startsWith('Tables')) return `table tables ${method}`;
  const entity = /\(PartitionKey=/.test(decodeURIComponent(segments[0] ?? ''));
  if (method === 'POST') return 'table insert';
  if (method === 'GET') return entity ? 'table get' : 'table query';
  if (method === 'DELETE') return 'table delete';
  return 'table update';
}

/** Starts counting requests to the Azurite listening on `ports`. */
export function countStorageRequests(ports: Record<Service, number>): RequestCounter {
  const byPort = new Map<number, Service>(Object.entries(ports).map(([service, port]) => [port, service as Service]));
  let counts: Record<string, OperationCount> = {};
  const original = { request: http.request, get: http.get };
  const target = (args: unknown[]): { service: Service; method: string; path: string } | undefined => {
    const [first, second] = args as [unknown, unknown];
    let port: number | undefined;
    let method = 'GET';
    let path = '/';
    const fromOptions = (o: unknown) => {
      if (o && typeof o === 'object' && !(o instanceof URL)) {
        const opts = o as { port?: number | string; method?: string; path?: string };
        if (opts.port !== undefined) port = Number(opts.port);
        if (opts.method) method = opts.method.toUpperCase();
        if (opts.path) path = opts.path;
      }
    };
    if (typeof first === 'string' || first instanceof URL) {
      const url = new URL(first.toString());
      port = Number(url.port);
      path = url.pathname + url.search;
      fromOptions(second);
    } else fromOptions(first);
    const service = port !== undefined ? byPort.get(port) : undefined;
    return service ? { service, method, path } : undefined;
  };
  const wrap = (fn: (...a: unknown[]) => http.ClientRequest) =>
    ((...args: unknown[]) => {
      const request = fn(...args);
      const seen = target(args);
      if (!seen) return request;
      const name = operationOf(seen.service, seen.method, seen.path);
      const count = (counts[name] ??= { requests: 0, bodyBytes: 0, entities: 0, responseBytes: 0 });
      count.requests++;
      const measure = (chunk: unknown) => {
        if (typeof chunk === 'string' || Buffer.isBuffer(chunk) || chunk instanceof Uint8Array) {
          const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
          count.bodyBytes += buffer.length;
          if (name === 'table batch') count.entities += buffer.toString('latin1').match(/content-type: application\/http/gi)?.length ?? 0;
        }
      };
      // Only the headers are read: a data listener here would take chunks from the SDK.
      request.once('response', (response: http.IncomingMessage) => {
        count.responseBytes += Number(response.headers['content-length'] ?? 0);
      });
      const write = request.write.bind(request) as (...a: unknown[]) => boolean;
      const end = request.end.bind(request) as (...a: unknown[]) => http.ClientRequest;
      request.write = ((chunk: unknown, ...rest: unknown[]) => {
        measure(chunk);
        return write(chunk, ...rest);
      }) as typeof request.write;
      request.end = ((chunk?: unknown, ...rest: unknown[]) => {
        if (typeof chunk !== 'function') measure(chunk);
        return end(chunk, ...rest);
      }) as typeof request.end;
      return request;
    }) as never;
  http.request = wrap(original.request as never);
  http.get = wrap(original.get as never);
  return {
    operations: () => structuredClone(counts),
    total: (service) => Object.entries(counts).filter(([k]) => !service || k.startsWith(`${service} `)).reduce((s, [, n]) => s + n.requests, 0),
    reset: () => {
      counts = {};
    },
    stop: () => {
      http.request = original.request;
      http.get = original.get;
    },
  };
}
