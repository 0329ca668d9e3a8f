/** The request and response shapes the route handlers share, and paging as Graph does it. */
import { badQuery } from './errors';

export interface RequestContext {
  method: string;
  /** Path after the version segment, still percent-encoded (e.g. `/users/a%40b/messages`). */
  path: string;
  /** Decoded path segments. */
  segments: string[];
  query: URLSearchParams;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: Buffer;
  version: 'v1.0' | 'beta';
  /** e.g. `https://127.0.0.1:1234/v1.0`. */
  baseUrl: string;
  requestId: string;
  /** True inside a JSON batch. */
  inBatch: boolean;
}

export interface GraphResponse {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  raw?: Buffer;
  contentType?: string;
  /** Drop the connection instead of answering (fault injection). */
  reset?: boolean;
}

export const ODATA_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** A JSON response. */
export function json(status: number, body: unknown, headers?: Record<string, string>): GraphResponse {
  return { status, json: body, headers };
}

/** Reads `$top` within the resource's bounds. */
export function readTop(ctx: RequestContext, defaultTop: number, maxTop: number): number {
  const raw = ctx.query.get('$top');
  if (raw === null) return defaultTop;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw badQuery(`Invalid $top value '${raw}'.`);
  return Math.min(Number(raw), maxTop);
}

/**
 * One page of a collection and the `@odata.nextLink` to the next, carrying
 * the same query with an advanced `$skip` (as Outlook's nextLinks do), or an
 * opaque `$skiptoken` (as the directory's do).
 */
export function page<T>(ctx: RequestContext, items: T[], top: number, style: 'skip' | 'skiptoken'): { value: T[]; nextLink?: string } {
  let offset = 0;
  if (style === 'skip') {
    const raw = ctx.query.get('$skip');
    if (raw !== null) {
      if (!/^\d+$/.test(raw)) throw badQuery(`Invalid $skip value '${raw}'.`);
      offset = Number(raw);
    }
  } else {
    const token = ctx.query.get('$skiptoken');
    if (token !== null) {
      const decoded = Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^o:/, ''));
      if (!Number.isInteger(decoded) || decoded < 0) throw badQuery('The $skiptoken is invalid.');
      offset = decoded;
    }
  }
  const value = items.slice(offset, offset + top);
  if (offset + top >= items.length) return { value };
  const next = new URLSearchParams(ctx.query);
  if (style === 'skip') next.set('$skip', String(offset + top));
  else next.set('$skiptoken', Buffer.from(`o:${offset + top}`).toString('base64url'));
  if (!next.has('$top') && style === 'skip') next.set('$top', String(top));
  const qs = next.toString().replace(/\+/g, '%20');
  return { value, nextLink: `${ctx.baseUrl}${ctx.path}?${qs}` };
}
