/**
 * The Microsoft Graph client: the SDK's Client over an @azure/identity
 * credential (or a fixed dev token for a local emulator), our node:https
 * transport (see http.ts), and one retry policy (graphRetry) for every call.
 *
 * The SDK's default chain also retries (RetryHandler, 3 times, its own
 * delays); we build the chain ourselves without it so that there is one retry
 * budget, with our Retry-After handling and timeScale, and so that pacing can
 * see each attempt.
 */
import { readFileSync } from 'node:fs';
import { AuthenticationHandler, Client, type AuthenticationProvider } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { isLocalUrl, type Settings } from '../config';
import { ArchiverError, isArchiverError } from '../../model/errors';
import { backoffDelayInMs, graphRetry, RetryBudgetExhaustedError, withRetry, type RetryProfile } from '../retry';
import { classifyGraphError, statusOf, toGraphRequestError } from './errors';
import { createHttpTransport, NodeHttpMessageHandler, type HttpSend } from './http';

/**
 * Admission of one HTTP attempt to a mailbox: concurrency, pacing and a shared
 * pause after Retry-After (implemented in shared/stages/import/pacing.ts).
 */
export interface RequestGate {
  /** Runs one attempt once the mailbox's limits allow; `requestBytes` counts toward the upload budget. */
  run<T>(attempt: () => Promise<T>, requestBytes: number): Promise<T>;
  /** Holds every further attempt to the mailbox for this long (a 429/503 Retry-After). */
  pause(delayInMs: number): void;
}

export interface GraphCallOptions {
  /** The mailbox's gate; without one the call is only retried. */
  gate?: RequestGate;
  /** Bytes of the request body, for the upload budget. */
  requestBytes?: number;
  /**
   * false for a request that must not be sent twice blindly (creating a message): only answers
   * that prove it was not carried out (429, 503) are retried here; the caller decides the rest.
   */
  idempotent?: boolean;
  /**
   * Runs right before each attempt is sent, after the gate admitted it (which
   * may take long): a write for an import unit checks here that its worker
   * still holds the unit's claim. What it throws ends the call unretried.
   */
  beforeAttempt?: () => Promise<void>;
}

/** The result of one PUT of a byte range to an upload session. */
export interface UploadRangeResult {
  status: number;
  /** `nextExpectedRanges` of a 200 answer. */
  nextExpectedRanges?: string[];
  /** `Location` of the final 201 answer: the attachment's URL. */
  location?: string | null;
}

/**
 * Where an upload session stands, asked by a GET on its URL: `next` is the
 * byte the service wants next; `gone` means the session no longer exists (it
 * completed, or expired); `unknown` means the service did not answer the
 * question (Outlook's attachment sessions do not document a status GET).
 */
export type UploadSessionStatus = { state: 'open'; next: number } | { state: 'gone' } | { state: 'unknown' };

/**
 * The bytes of a file to upload, read range by range (a large file need not
 * be held whole): a Buffer is one.
 */
export interface ByteSource {
  readonly length: number;
  /** The bytes from `start` up to (not including) `end`; a source may reuse them for the next read, so they are sent before the next is asked for. */
  read(start: number, end: number): Promise<Buffer>;
}

/** A Buffer as a byte source. */
export function bufferSource(bytes: Buffer): ByteSource {
  return { length: bytes.length, read: async (start, end) => bytes.subarray(start, end) };
}

/** How an upload through a session ended: the final range was taken (201), or the session vanished under us. */
export type UploadSessionOutcome = { state: 'complete'; location?: string | null } | { state: 'gone' };

/** The connector's Graph client: the SDK client plus retrying, gated calls. */
export interface GraphClient {
  /** The SDK client (relative paths resolve against GRAPH_BASE_URL). */
  readonly sdk: Client;
  /** GRAPH_BASE_URL without a trailing slash, e.g. https://graph.microsoft.com/v1.0. */
  readonly baseUrl: string;
  /** Which credential signs the calls (never the secret itself). */
  readonly credentialKind: CredentialKind;
  /** Runs one Graph operation under graphRetry; throws GraphRequestError when it fails for good. */
  call<T>(what: string, operation: (sdk: Client) => Promise<T>, options?: GraphCallOptions): Promise<T>;
  /** PUTs one byte range to a pre-authenticated upload URL, with no Authorization header, under graphRetry. */
  putUploadRange(uploadUrl: string, bytes: Buffer, start: number, total: number, options?: GraphCallOptions): Promise<UploadRangeResult>;
  /** Asks an upload session where it stands (GET on its URL, no Authorization header). */
  uploadSessionStatus(uploadUrl: string, options?: GraphCallOptions): Promise<UploadSessionStatus>;
  /**
   * Uploads a whole file through an upload session in order, resuming after a
   * lost answer from what the service says it has; throws GraphRequestError
   * for a refusal or when the retry budget is spent.
   */
  uploadToSession(uploadUrl: string, bytes: ByteSource, options?: GraphCallOptions & { chunkBytes?: number }): Promise<UploadSessionOutcome>;
  /** Cancels an upload session (DELETE on its URL); a session already gone is fine. */
  cancelUploadSession(uploadUrl: string, options?: GraphCallOptions): Promise<void>;
}

export type CredentialKind = 'dev-token' | 'managed-identity' | 'client-secret' | 'client-certificate' | 'custom';

export interface GraphClientOptions {
  /** A credential to use instead of the one the settings name (tests, other hosts). */
  credential?: TokenCredential;
  /** PEM to trust beside the system CAs; overrides GRAPH_CA_CERT_PATH. */
  caCertPem?: string;
  /** Retry profile (graphRetry by default). */
  retryProfile?: RetryProfile;
  /** Scales every retry delay; RETRY_TIME_SCALE by default. */
  timeScale?: number;
  /** Replaces the sleep between attempts (tests record the delays instead of waiting). */
  sleep?: (ms: number) => Promise<void>;
  /** Replaces the HTTP transport (tests). */
  transport?: HttpSend;
  /** Told about each retry; never sees tokens or bodies. */
  onRetry?: (info: { what: string; attempt: number; delayInMs: number; status?: number }) => void;
}

/** A token provider that hands out one fixed token (GRAPH_DEV_TOKEN, local emulators only). */
class StaticTokenProvider implements AuthenticationProvider {
  constructor(private readonly token: string) {}
  async getAccessToken(): Promise<string> {
    return this.token;
  }
}

/**
 * An app registration given for Graph wins; otherwise the managed identity. AZURE_CLIENT_ID
 * also names the identity that reaches storage, so its presence alone must not decide Graph's credential.
 */
function chooseCredential(settings: Settings): { credential: TokenCredential; kind: CredentialKind } {
  const tenant = settings.GRAPH_TENANT_ID;
  const client = settings.GRAPH_CLIENT_ID;
  if (tenant && client && settings.GRAPH_CLIENT_SECRET) {
    return { credential: new ClientSecretCredential(tenant, client, settings.GRAPH_CLIENT_SECRET), kind: 'client-secret' };
  }
  if (tenant && client && settings.GRAPH_CLIENT_CERTIFICATE_PATH) {
    return {
      credential: new ClientCertificateCredential(tenant, client, { certificatePath: settings.GRAPH_CLIENT_CERTIFICATE_PATH }),
      kind: 'client-certificate',
    };
  }
  if (settings.AZURE_CLIENT_ID) {
    return { credential: new ManagedIdentityCredential({ clientId: settings.AZURE_CLIENT_ID }), kind: 'managed-identity' };
  }
  const missing = !tenant ? 'GRAPH_TENANT_ID' : !client ? 'GRAPH_CLIENT_ID' : 'GRAPH_CLIENT_SECRET';
  throw new ArchiverError(
    'SETTING_MISSING',
    `Setting ${missing} is not set: Graph needs AZURE_CLIENT_ID (managed identity), or GRAPH_TENANT_ID and GRAPH_CLIENT_ID with GRAPH_CLIENT_SECRET or GRAPH_CLIENT_CERTIFICATE_PATH`,
    { setting: missing },
  );
}

/** Splits GRAPH_BASE_URL into the SDK's baseUrl (origin and any prefix) and version (the last segment). */
export function splitGraphBaseUrl(value: string): { baseUrl: string; version: string; host: string } {
  const url = new URL(value);
  const segments = url.pathname.split('/').filter(Boolean);
  const version = segments.pop() ?? 'v1.0';
  const prefix = segments.length ? '/' + segments.join('/') : '';
  return { baseUrl: url.origin + prefix, version, host: url.hostname.replace(/^\[|\]$/g, '') };
}

/** Bytes per PUT of an upload session: under 4 MB (and 4,000,000), a multiple of 320 KiB as upload services prefer. */
export const UPLOAD_CHUNK_BYTES = 320 * 1024 * 12;

/** Builds the Graph client the settings describe (credential, base URL, trusted CA, retry time scale). */
export function createGraphClient(settings: Settings, options: GraphClientOptions = {}): GraphClient {
  const { baseUrl, version, host } = splitGraphBaseUrl(settings.GRAPH_BASE_URL);
  const local = isLocalUrl(settings.GRAPH_BASE_URL);

  let authProvider: AuthenticationProvider;
  let credentialKind: CredentialKind;
  if (options.credential) {
    authProvider = new TokenCredentialAuthenticationProvider(options.credential, { scopes: [`${new URL(baseUrl).origin}/.default`] });
    credentialKind = 'custom';
  } else if (settings.GRAPH_DEV_TOKEN && local) {
    authProvider = new StaticTokenProvider(settings.GRAPH_DEV_TOKEN);
    credentialKind = 'dev-token';
  } else {
    const chosen = chooseCredential(settings);
    // The app-only scope of the Graph host in use (graph.microsoft.com, or a national cloud's).
    authProvider = new TokenCredentialAuthenticationProvider(chosen.credential, { scopes: [`${new URL(baseUrl).origin}/.default`] });
    credentialKind = chosen.kind;
  }

  const caCertPem = options.caCertPem ?? (settings.GRAPH_CA_CERT_PATH ? readFileSync(settings.GRAPH_CA_CERT_PATH, 'utf8') : undefined);
  const send = options.transport ?? createHttpTransport({ caCertPem });
  const auth = new AuthenticationHandler(authProvider);
  auth.setNext(new NodeHttpMessageHandler(send));

  const sdk = Client.initWithMiddleware({
    middleware: auth,
    baseUrl,
    defaultVersion: version,
    // The SDK attaches the token only to https Graph hosts or these; a local emulator is neither.
    ...(local ? { customHosts: new Set([host]) } : {}),
  });

  const profile = options.retryProfile ?? graphRetry;
  const timeScale = options.timeScale ?? settings.RETRY_TIME_SCALE;

  async function attemptThroughGate<T>(attempt: () => Promise<T>, callOptions: GraphCallOptions): Promise<T> {
    const before = callOptions.beforeAttempt;
    const guarded = before ? async () => { await before(); return attempt(); } : attempt;
    return callOptions.gate ? callOptions.gate.run(guarded, callOptions.requestBytes ?? 0) : guarded();
  }

  /** What a failed call throws: a lost claim as it is (the importer decides), anything else as a GraphRequestError. */
  function failure(error: unknown, what: string): unknown {
    return isArchiverError(error, 'UNIT_LOST') ? error : toGraphRequestError(error, what);
  }

  function classifierFor(callOptions: GraphCallOptions) {
    if (callOptions.idempotent !== false) return classifyGraphError;
    return (error: unknown) => {
      const status = (error as { statusCode?: number })?.statusCode;
      return status === 429 || status === 503 ? classifyGraphError(error) : { retry: false };
    };
  }

  function retryOptions(what: string, callOptions: GraphCallOptions) {
    return {
      timeScale,
      sleep: options.sleep,
      onRetry: (info: { attempt: number; delayInMs: number; error: unknown }) => {
        const decision = classifyGraphError(info.error);
        // A Retry-After speaks for the whole mailbox, not just this request.
        if (decision.retryAfterInMs !== undefined) callOptions.gate?.pause(info.delayInMs);
        const status = (info.error as { statusCode?: number })?.statusCode;
        options.onRetry?.({ what, attempt: info.attempt, delayInMs: info.delayInMs, status: status && status > 0 ? status : undefined });
      },
    };
  }

  return {
    sdk,
    baseUrl: settings.GRAPH_BASE_URL.replace(/\/+$/, ''),
    credentialKind,
    async call(what, operation, callOptions = {}) {
      try {
        return await withRetry(
          () => attemptThroughGate(() => operation(sdk), callOptions),
          profile,
          classifierFor(callOptions),
          retryOptions(what, callOptions),
        );
      } catch (error) {
        throw failure(error, what);
      }
    },
    putUploadRange(uploadUrl, bytes, start, total, callOptions = {}) {
      return withRetry(
        () => attemptThroughGate(() => putRange(uploadUrl, bytes, start, total), { ...callOptions, requestBytes: bytes.length }),
        profile,
        classifierFor(callOptions),
        retryOptions('upload range', callOptions),
      ).catch((error: unknown) => {
        throw failure(error, 'upload range');
      });
    },
    uploadSessionStatus(uploadUrl, callOptions = {}) {
      return sessionStatus(uploadUrl, callOptions);
    },
    async cancelUploadSession(uploadUrl, callOptions = {}) {
      try {
        await withRetry(
          () =>
            attemptThroughGate(async () => {
              const response = await send({ method: 'DELETE', url: uploadUrl, headers: {} });
              const text = await response.text();
              if (!response.ok && response.status !== 404) throw uploadError(response, text);
            }, callOptions),
          profile,
          classifyGraphError,
          retryOptions('cancel upload session', callOptions),
        );
      } catch (error) {
        throw failure(error, 'cancel upload session');
      }
    },
    async uploadToSession(uploadUrl, bytes, callOptions = {}) {
      const what = 'upload range';
      const chunkBytes = callOptions.chunkBytes ?? UPLOAD_CHUNK_BYTES;
      const total = bytes.length;
      let started = Date.now();
      let start = 0;
      let failures = 0;
      // True while the range at `start` is being sent again after an answer was lost.
      let resending = false;
      for (;;) {
        const end = Math.min(total, start + chunkBytes);
        // One range in memory at a time: a large file is read from its source as it goes.
        const range = await bytes.read(start, end);
        let result: UploadRangeResult;
        try {
          result = await attemptThroughGate(() => putRange(uploadUrl, range, start, total), {
            ...callOptions,
            requestBytes: end - start,
          });
        } catch (error) {
          if (isArchiverError(error, 'UNIT_LOST')) throw error;
          const status = statusOf(error);
          // 404: the session is gone — a lost final answer completed it, or it expired; the caller looks at the message.
          if (status === 404) return { state: 'gone' };
          const notCarriedOut = status === 429 || status === 503;
          const lostAnswer = classifyGraphError(error).retry && !notCarriedOut;
          // A 4xx to a range sent again means the first sending landed (Graph wants bytes in order).
          const elsewhere = status === 416 || (resending && status !== undefined && status >= 400 && status < 500 && status !== 401 && status !== 408 && status !== 429);
          if (!notCarriedOut && !lostAnswer && !elsewhere) throw toGraphRequestError(error, what);
          failures++;
          const decision = classifyGraphError(error);
          const delayInMs = backoffDelayInMs(profile, failures, Math.random, decision.retryAfterInMs) * timeScale;
          if (failures >= profile.maxAttempts || Date.now() - started + delayInMs > profile.maxElapsedInMs * timeScale) {
            throw toGraphRequestError(new RetryBudgetExhaustedError(profile.name, failures, error), what);
          }
          if (decision.retryAfterInMs !== undefined) callOptions.gate?.pause(delayInMs);
          options.onRetry?.({ what, attempt: failures, delayInMs, status: status && status > 0 ? status : undefined });
          await (options.sleep ?? defaultSleep)(delayInMs);
          if (notCarriedOut) continue;
          // The answer was lost, or the service wants another range: ask it where it stands.
          const where = await sessionStatus(uploadUrl, callOptions);
          if (where.state === 'gone') return { state: 'gone' };
          if (where.state === 'open') {
            // The service said which byte it wants: a refusal of that range is a real one.
            resending = false;
            start = where.next;
          } else if (elsewhere) {
            // No status answer: in-order uploads leave the service either at `start` or at `end`, and it is not at `start`.
            resending = false;
            start = end;
          } else {
            resending = true;
          }
          continue;
        }
        if (result.status === 201) return { state: 'complete', location: result.location };
        // A range landed: the retry budget (attempts and time) bounds the next range, not the whole file,
        // so a large file on a slow or throttled mailbox is not cut off while it makes progress.
        failures = 0;
        started = Date.now();
        resending = false;
        const next = parseNextExpected(result.nextExpectedRanges);
        start = next !== undefined && next > start ? next : end;
        if (start >= total) {
          // Every byte was taken but no 201 came: the session is done or about to be; the caller looks at the message.
          return { state: 'gone' };
        }
      }
    },
  };

  async function putRange(uploadUrl: string, bytes: Buffer, start: number, total: number): Promise<UploadRangeResult> {
    // Pre-authenticated URL: no Authorization header (Graph docs, "Attach large files").
    const response = await send({
      method: 'PUT',
      url: uploadUrl,
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Range': `bytes ${start}-${start + bytes.length - 1}/${total}`,
      },
      body: bytes,
    });
    const text = await response.text();
    if (!response.ok) throw uploadError(response, text);
    const json = text ? (safeJson(text) as { nextExpectedRanges?: string[]; NextExpectedRanges?: string[] } | undefined) : undefined;
    return {
      status: response.status,
      nextExpectedRanges: json?.nextExpectedRanges ?? json?.NextExpectedRanges,
      location: response.headers.get('location'),
    };
  }

  async function sessionStatus(uploadUrl: string, callOptions: GraphCallOptions): Promise<UploadSessionStatus> {
    try {
      return await withRetry(
        () =>
          attemptThroughGate(async (): Promise<UploadSessionStatus> => {
            // A GET on the session URL is how Graph's upload sessions report progress (uploadSession, "resuming");
            // Outlook's attachment sessions do not document it, so any refusal other than 404 means "unknown".
            const response = await send({ method: 'GET', url: uploadUrl, headers: {} });
            const text = await response.text();
            if (response.status === 404) return { state: 'gone' };
            if (response.ok) {
              const json = safeJson(text) as { nextExpectedRanges?: string[]; NextExpectedRanges?: string[] } | undefined;
              const next = parseNextExpected(json?.nextExpectedRanges ?? json?.NextExpectedRanges);
              return next === undefined ? { state: 'unknown' } : { state: 'open', next };
            }
            const error = uploadError(response, text);
            if (classifyGraphError(error).retry) throw error;
            return { state: 'unknown' };
          }, callOptions),
        profile,
        classifyGraphError,
        retryOptions('upload session status', callOptions),
      );
    } catch (error) {
      throw failure(error, 'upload session status');
    }
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The start of the first of `nextExpectedRanges` (`"2097152"` for Outlook, `"0-"` or `"26-"` elsewhere). */
export function parseNextExpected(ranges: string[] | undefined): number | undefined {
  const first = ranges?.[0];
  if (first === undefined) return undefined;
  const n = Number.parseInt(first.split('-')[0], 10);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An error shaped like the SDK's GraphError, so one classifier serves both paths. */
function uploadError(response: Response, text: string): Error & { statusCode: number; code: string | null; headers: Headers } {
  const body = safeJson(text) as { error?: { code?: string } } | undefined;
  const error = new Error(`upload range answered ${response.status}`) as Error & { statusCode: number; code: string | null; headers: Headers };
  error.statusCode = response.status;
  error.code = body?.error?.code ?? null;
  error.headers = response.headers;
  return error;
}
