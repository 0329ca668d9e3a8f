/**
 * What a failed Microsoft Graph call means: retry (429/503 after Retry-After,
 * 500/502/504 and dropped connections with backoff) or give up, and the
 * error the rest of the connector sees, carrying the HTTP status and Graph's
 * own error code for the run report's `detail`.
 */
import { ArchiverError, type ErrorCode } from '../../model/errors';
import { parseRetryAfter, RetryBudgetExhaustedError, type RetryDecision } from '../retry';

/** Statuses that a later attempt can change; 429 and 503 carry Retry-After. */
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Name our transport gives to errors where no HTTP answer came back (reset, timeout, refused). */
export const NETWORK_ERROR_NAME = 'GraphNetworkError';

/** The shape the Graph SDK throws (GraphError) and our upload transport throws alike. */
interface HttpLikeError {
  statusCode?: number;
  code?: string | null;
  message?: string;
  headers?: { get(name: string): string | null } | undefined;
  body?: unknown;
}

function asHttpLike(error: unknown): HttpLikeError | undefined {
  return typeof error === 'object' && error !== null ? (error as HttpLikeError) : undefined;
}

/** A Graph call that failed for good (or whose retry budget ran out). */
export class GraphRequestError extends ArchiverError {
  /** Graph's error code (`ErrorFolderExists`, `ErrorInvalidUser`…), when it gave one. */
  readonly graphCode?: string;
  /** True when the failure was transient but the retry budget is spent. */
  readonly exhausted: boolean;
  /** The server's Retry-After of the last answer, in ms. */
  readonly retryAfterInMs?: number;

  constructor(
    code: ErrorCode,
    message: string,
    details: { statusCode?: number; graphCode?: string; exhausted?: boolean; retryAfterInMs?: number; cause?: unknown },
  ) {
    super(code, message, { statusCode: details.statusCode, retryable: false, cause: details.cause });
    this.name = 'GraphRequestError';
    this.graphCode = details.graphCode;
    this.exhausted = details.exhausted ?? false;
    this.retryAfterInMs = details.retryAfterInMs;
  }

  /** `status 404 ErrorInvalidUser` — what a report's `detail` shows. */
  get detail(): string {
    const parts = [this.statusCode !== undefined && this.statusCode > 0 ? `status ${this.statusCode}` : 'no response'];
    if (this.graphCode) parts.push(this.graphCode);
    if (this.exhausted) parts.push('retry budget exhausted');
    return parts.join(' ');
  }
}

/** True when a later attempt could change the outcome: a spent retry budget, no answer, or a status Graph uses for passing trouble. */
export function isTransientGraphFailure(error: GraphRequestError): boolean {
  return error.exhausted || error.statusCode === undefined || error.statusCode === 0 || RETRYABLE_STATUSES.has(error.statusCode);
}

/** True when `e` is a GraphRequestError. */
export function isGraphRequestError(e: unknown): e is GraphRequestError {
  return e instanceof GraphRequestError;
}

/** HTTP status of a Graph SDK error, or undefined when no response came back. */
export function statusOf(error: unknown): number | undefined {
  if (error instanceof GraphRequestError) return error.statusCode;
  const status = asHttpLike(error)?.statusCode;
  return typeof status === 'number' && status > 0 ? status : undefined;
}

/** Graph's error code (`error.code` of the JSON error body), when there is one. */
export function graphCodeOf(error: unknown): string | undefined {
  if (error instanceof GraphRequestError) return error.graphCode;
  const e = asHttpLike(error);
  if (!e) return undefined;
  if (typeof e.code === 'string' && e.code && e.code !== 'Error' && e.code !== NETWORK_ERROR_NAME) return e.code;
  return undefined;
}

/** Retry-After of a Graph SDK error's response, in ms. */
export function retryAfterOf(error: unknown, now: number = Date.now()): number | undefined {
  const headers = asHttpLike(error)?.headers;
  if (!headers || typeof headers.get !== 'function') return undefined;
  return parseRetryAfter(headers.get('retry-after'), now);
}

function isNetworkError(error: unknown): boolean {
  const e = asHttpLike(error);
  if (!e) return false;
  if (e.code === NETWORK_ERROR_NAME) return true;
  // The SDK wraps a transport error in a GraphError with status -1 and the error's name as code.
  const text = `${e.message ?? ''} ${typeof e.body === 'string' ? e.body : ''}`;
  return (e.statusCode === undefined || e.statusCode < 0) && /ECONNRESET|ETIMEDOUT|EPIPE|ECONNREFUSED|socket hang up|GraphNetworkError/i.test(text);
}

/** The retry decision for one failed Graph attempt. */
export function classifyGraphError(error: unknown): RetryDecision {
  if (error instanceof GraphRequestError) return { retry: false };
  const status = statusOf(error);
  if (status === undefined) return { retry: isNetworkError(error) };
  if (!RETRYABLE_STATUSES.has(status)) return { retry: false };
  const retryAfterInMs = status === 429 || status === 503 ? retryAfterOf(error) : undefined;
  return retryAfterInMs === undefined ? { retry: true } : { retry: true, retryAfterInMs };
}

/** Turns whatever a Graph call threw (after its retries) into a GraphRequestError. */
export function toGraphRequestError(error: unknown, what: string): GraphRequestError {
  if (error instanceof GraphRequestError) return error;
  const exhausted = error instanceof RetryBudgetExhaustedError;
  const last = exhausted ? error.lastError : error;
  if (last instanceof GraphRequestError) return last;
  const statusCode = statusOf(last);
  const graphCode = graphCodeOf(last);
  const code: ErrorCode = exhausted
    ? 'GRAPH_UNAVAILABLE'
    : statusCode === 401 || statusCode === 403
      ? 'GRAPH_AUTH_FAILED'
      : statusCode === undefined
        ? 'GRAPH_UNAVAILABLE'
        : 'GRAPH_ERROR';
  const status = statusCode === undefined ? 'no response' : `status ${statusCode}`;
  const suffix = exhausted ? ` after ${error.attempts} attempts` : '';
  return new GraphRequestError(code, `Graph ${what} failed: ${status}${graphCode ? ` ${graphCode}` : ''}${suffix}`, {
    statusCode,
    graphCode,
    exhausted,
    retryAfterInMs: retryAfterOf(last),
    cause: last,
  });
}
