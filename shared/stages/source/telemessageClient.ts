/**
 * The TeleMessage archive client (contracts/telemessage-archive-api.md): login,
 * paging through a window, and streaming media. Transient failures (429, 5xx,
 * resets, timeouts) are retried under the `sourceRetry` profile; a refused
 * login and a malformed request are final.
 */
import { pipeline, Readable, Transform } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import { requireSettings, type Settings } from '../../platform/config';
import { ArchiverError, describeError, isArchiverError } from '../../model/errors';
import type { TimeWindow } from '../../model/item';
import { parseRetryAfter, RetryBudgetExhaustedError, sourceRetry, withRetry, type RetryDecision, type RetryProfile } from '../../platform/retry';
import type { ArchiveSource, MediaDownload, SourcePage } from '../../model/stages';

export interface TeleMessageSourceOptions {
  baseUrl: string;
  username: string;
  password: string;
  /** Items per listing page, 1..1000. */
  pageSize: number;
  retry?: RetryProfile;
  /** Scales every retry delay (RETRY_TIME_SCALE); 1 in production. */
  timeScale?: number;
  /** How long one request may take before it counts as a transient failure; for media, until the headers and between chunks. */
  requestTimeoutInMs?: number;
  fetch?: typeof fetch;
  /** Told of each retry; the line holds no secret, token or message text. */
  log?: (line: string) => void;
}

const DEFAULT_REQUEST_TIMEOUT_IN_MS = 60_000;
/** Log in again this long before the token's stated expiry, so a long page never starts on a dying token. */
const TOKEN_REFRESH_MARGIN_IN_MS = 60_000;
const LOGIN_PATH = 'api/v1/auth/token';
const ITEMS_PATH = 'api/v1/archive/items';

/** A failed attempt worth another: a 429/5xx answer, a reset connection or a timeout. */
class TransientSourceError extends Error {
  constructor(
    message: string,
    readonly retryAfterInMs?: number,
  ) {
    super(message);
    this.name = 'TransientSourceError';
  }
}

interface AccessToken {
  value: string;
  expiresAt: number;
}

/** Builds the TeleMessage archive source over HTTP. */
export function createTeleMessageSource(options: TeleMessageSourceOptions): ArchiveSource {
  if (!Number.isInteger(options.pageSize) || options.pageSize < 1 || options.pageSize > 1000) {
    throw new RangeError(`pageSize must be an integer from 1 to 1000, not ${options.pageSize}`);
  }
  const base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : options.baseUrl + '/');
  const doFetch = options.fetch ?? fetch;
  const profile = options.retry ?? sourceRetry;
  const timeScale = options.timeScale ?? 1;
  const timeoutInMs = options.requestTimeoutInMs ?? DEFAULT_REQUEST_TIMEOUT_IN_MS;

  let token: AccessToken | null = null;
  // One login at a time: concurrent calls that find no token share it.
  let loginInFlight: Promise<AccessToken> | null = null;

  /** Runs `attempt` under the retry profile; a spent budget becomes SOURCE_UNAVAILABLE naming `what`. */
  async function retried<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(attempt, profile, classify, {
        timeScale,
        onRetry: ({ attempt: n, delayInMs, error }) =>
          options.log?.(`TeleMessage ${what}: ${describeError(error)}; retry ${n + 1} in ${Math.round(delayInMs)} ms`),
      });
    } catch (error) {
      if (error instanceof RetryBudgetExhaustedError) {
        throw new ArchiverError(
          'SOURCE_UNAVAILABLE',
          `TeleMessage did not answer ${what} after ${error.attempts} attempts: ${describeError(error.lastError)}`,
          { retryable: true, cause: error.lastError },
        );
      }
      throw error;
    }
  }

  /** One request with a whole-request timeout; network failures and timeouts become transient errors. */
  async function send(what: string, url: URL, init: RequestInit, signal: AbortSignal = AbortSignal.timeout(timeoutInMs)): Promise<Response> {
    try {
      const response = await doFetch(url, { ...init, signal });
      if (response.status === 429 || [500, 502, 503, 504].includes(response.status)) {
        await discard(response);
        const retryAfterInMs = response.status === 429 ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
        throw new TransientSourceError(`${what} answered ${response.status}`, retryAfterInMs);
      }
      return response;
    } catch (error) {
      throw asTransient(what, error, timeoutInMs);
    }
  }

  /** One login attempt (no retry of its own: it runs inside the calling attempt). */
  async function loginOnce(): Promise<AccessToken> {
    const what = `POST /${LOGIN_PATH}`;
    const response = await send(what, new URL(LOGIN_PATH, base), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ username: options.username, password: options.password }),
    });
    if (response.status === 401 || response.status === 403) {
      await discard(response);
      throw new ArchiverError(
        'SOURCE_AUTH_FAILED',
        'TeleMessage refused the login: check TELEMESSAGE_USERNAME and TELEMESSAGE_PASSWORD',
        { setting: 'TELEMESSAGE_PASSWORD', statusCode: response.status },
      );
    }
    const body = await readJson(what, response);
    const accessToken = (body as { access_token?: unknown }).access_token;
    const expiresIn = (body as { expires_in?: unknown }).expires_in;
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new ArchiverError('SOURCE_BAD_RESPONSE', `TeleMessage ${what} answered without an access_token`);
    }
    const lifetimeInMs = typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn * 1000 : 3600_000;
    return { value: accessToken, expiresAt: Date.now() + lifetimeInMs - Math.min(TOKEN_REFRESH_MARGIN_IN_MS, lifetimeInMs / 2) };
  }

  async function currentToken(): Promise<AccessToken> {
    if (token && Date.now() < token.expiresAt) return token;
    if (!loginInFlight) {
      loginInFlight = loginOnce()
        .then((fresh) => (token = fresh))
        .finally(() => (loginInFlight = null));
    }
    return loginInFlight;
  }

  /**
   * One authorised attempt: a 401 means the token expired, so log in again
   * once per call and repeat; a second 401 in the same call is a refusal.
   */
  async function authorised(what: string, url: URL, state: { reloggedIn: boolean }, signal?: () => AbortSignal): Promise<Response> {
    for (;;) {
      const used = await currentToken();
      const response = await send(
        what,
        url,
        { method: 'GET', headers: { authorization: `Bearer ${used.value}`, accept: 'application/json' } },
        signal?.(),
      );
      if (response.status !== 401) return response;
      await discard(response);
      if (state.reloggedIn) {
        throw new ArchiverError(
          'SOURCE_AUTH_FAILED',
          `TeleMessage refused a fresh token on ${what}: check TELEMESSAGE_USERNAME and TELEMESSAGE_PASSWORD`,
          { setting: 'TELEMESSAGE_PASSWORD', statusCode: 401 },
        );
      }
      state.reloggedIn = true;
      // Forget the token only if no concurrent call has replaced it already.
      if (token === used) token = null;
    }
  }

  async function failOnUnexpected(what: string, response: Response): Promise<never> {
    await discard(response);
    if (response.status === 400) {
      throw new ArchiverError('SOURCE_BAD_REQUEST', `TeleMessage rejected ${what} as malformed (400)`, { statusCode: 400 });
    }
    if (response.status === 403) {
      throw new ArchiverError(
        'SOURCE_AUTH_FAILED',
        `TeleMessage forbade ${what} (403): check that TELEMESSAGE_USERNAME is an administration account`,
        { setting: 'TELEMESSAGE_USERNAME', statusCode: 403 },
      );
    }
    throw new ArchiverError('SOURCE_BAD_RESPONSE', `TeleMessage answered ${what} with an unexpected ${response.status}`, {
      statusCode: response.status,
    });
  }

  return {
    async listPage(window: TimeWindow, cursor: string | null): Promise<SourcePage> {
      const url = new URL(ITEMS_PATH, base);
      url.searchParams.set('from', window.from);
      url.searchParams.set('to', window.to);
      url.searchParams.set('pageSize', String(options.pageSize));
      if (cursor !== null) url.searchParams.set('cursor', cursor);
      const what = `GET /${ITEMS_PATH} for ${window.from}..${window.to} (${cursor === null ? 'first page' : 'next page'})`;
      const state = { reloggedIn: false };
      return retried(what, async () => {
        const response = await authorised(what, url, state);
        if (response.status !== 200) return failOnUnexpected(what, response);
        const body = await readJson(what, response);
        const { items, nextCursor } = body as { items?: unknown; nextCursor?: unknown };
        if (!Array.isArray(items) || !(nextCursor === null || (typeof nextCursor === 'string' && nextCursor !== ''))) {
          throw new ArchiverError('SOURCE_BAD_RESPONSE', `TeleMessage answered ${what} without an items array and a nextCursor`);
        }
        if (nextCursor !== null && nextCursor === cursor) {
          // The same cursor again would page forever.
          throw new ArchiverError('SOURCE_BAD_RESPONSE', `TeleMessage answered ${what} with the cursor it was given`);
        }
        return { records: items, nextCursor };
      });
    },

    async openMedia(itemId: string, mediaId: string): Promise<MediaDownload> {
      const url = new URL(`${ITEMS_PATH}/${encodeURIComponent(itemId)}/media/${encodeURIComponent(mediaId)}`, base);
      const what = `GET media ${mediaId} of an item`;
      const state = { reloggedIn: false };
      return retried(what, async () => {
        // The timeout covers the wait for the headers; the body may take as long as it keeps flowing.
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(new DOMException('request timed out', 'TimeoutError')), timeoutInMs);
        let response: Response;
        try {
          response = await authorised(what, url, state, () => controller.signal);
        } finally {
          clearTimeout(timer);
        }
        if (response.status === 404) {
          await discard(response);
          throw new ArchiverError('MEDIA_MISSING', `TeleMessage has no media ${mediaId} for item ${itemId} (404)`, { statusCode: 404 });
        }
        if (response.status !== 200 || !response.body) return failOnUnexpected(what, response);
        const length = response.headers.get('content-length');
        const body = Readable.fromWeb(response.body as unknown as NodeWebReadableStream<Uint8Array>);
        const stream = idleWatchdog(timeoutInMs, () => controller.abort(), what);
        // pipeline carries a broken download's error to the reader, and a reader's early stop back to the socket.
        pipeline(body, stream, () => undefined);
        return {
          stream,
          contentType: response.headers.get('content-type'),
          contentLength: length !== null && /^\d+$/.test(length) ? Number(length) : null,
        };
      });
    },

    async checkLogin(): Promise<void> {
      await retried(`POST /${LOGIN_PATH}`, async () => {
        token = await loginOnce();
      });
    },
  };
}

/** Builds the TeleMessage source from the settings, naming the first missing one. */
export function teleMessageSourceFromSettings(settings: Settings, log?: (line: string) => void): ArchiveSource {
  requireSettings(settings, ['TELEMESSAGE_BASE_URL', 'TELEMESSAGE_USERNAME', 'TELEMESSAGE_PASSWORD']);
  return createTeleMessageSource({
    baseUrl: settings.TELEMESSAGE_BASE_URL,
    username: settings.TELEMESSAGE_USERNAME,
    password: settings.TELEMESSAGE_PASSWORD,
    pageSize: settings.SOURCE_PAGE_SIZE,
    timeScale: settings.RETRY_TIME_SCALE,
    requestTimeoutInMs: settings.SOURCE_REQUEST_TIMEOUT_SECONDS * 1000,
    log,
  });
}

function classify(error: unknown): RetryDecision {
  if (error instanceof TransientSourceError) return { retry: true, retryAfterInMs: error.retryAfterInMs };
  return { retry: false };
}

/** Network failures and timeouts as transient errors; the connector's own errors pass through. */
function asTransient(what: string, error: unknown, timeoutInMs: number): unknown {
  if (error instanceof TransientSourceError || isArchiverError(error)) return error;
  const name = (error as { name?: string } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TransientSourceError(`${what} timed out after ${timeoutInMs} ms`);
  }
  if (name === 'TypeError') {
    // undici reports a reset or refused connection as TypeError('fetch failed') with the socket error as cause.
    // Checked by name: fetch's TypeError may come from another realm (jest's vm contexts), where instanceof fails.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return new TransientSourceError(`${what} failed: ${cause?.code ?? cause?.message ?? describeError(error)}`);
  }
  return error;
}

/** The body as JSON; a body that is not JSON is not the contract (a reset mid-body is transient). */
async function readJson(what: string, response: Response): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new TransientSourceError(`${what} broke off while answering: ${describeError(error)}`);
  }
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new SyntaxError('not an object');
    return body;
  } catch {
    throw new ArchiverError('SOURCE_BAD_RESPONSE', `TeleMessage answered ${what} with malformed JSON`, {
      statusCode: response.status,
    });
  }
}

/** Frees the connection of an answer whose body is not needed. */
async function discard(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // The body is not needed; a failure to cancel it changes nothing.
  }
}

/**
 * Passes bytes through, failing the stream when none pass for `idleInMs`: a
 * stalled download would otherwise hang forever. A reader that stops reading
 * for that long trips it too, which is fine for uploads that keep moving.
 */
function idleWatchdog(idleInMs: number, abort: () => void, what: string): Transform {
  let timer: NodeJS.Timeout | undefined;
  const watchdog: Transform = new Transform({
    transform(chunk, _encoding, callback) {
      arm();
      callback(null, chunk);
    },
    flush(callback) {
      clearTimeout(timer);
      callback();
    },
    destroy(error, callback) {
      clearTimeout(timer);
      callback(error);
    },
  });
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      abort();
      watchdog.destroy(new ArchiverError('SOURCE_UNAVAILABLE', `${what} stalled for ${idleInMs} ms`, { retryable: true }));
    }, idleInMs);
    timer.unref();
  };
  arm();
  return watchdog;
}
