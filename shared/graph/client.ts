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
import { ArchiverError } from '../errors';
import { graphRetry, withRetry, type RetryProfile } from '../retry';
import { classifyGraphError, toGraphRequestError } from './errors';
import { createHttpTransport, NodeHttpMessageHandler, type HttpSend } from './http';

/**
 * Admission of one HTTP attempt to a mailbox: concurrency, pacing and a shared
 * pause after Retry-After (implemented in shared/import/pacing.ts).
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
}

/** The result of one PUT of a byte range to an upload session. */
export interface UploadRangeResult {
  status: number;
  /** `nextExpectedRanges` of a 200 answer. */
  nextExpectedRanges?: string[];
  /** `Location` of the final 201 answer: the attachment's URL. */
  location?: string | null;
}

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

function chooseCredential(settings: Settings): { credential: TokenCredential; kind: CredentialKind } {
  if (settings.AZURE_CLIENT_ID) {
    return { credential: new ManagedIdentityCredential({ clientId: settings.AZURE_CLIENT_ID }), kind: 'managed-identity' };
  }
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
    return callOptions.gate ? callOptions.gate.run(attempt, callOptions.requestBytes ?? 0) : attempt();
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
        throw toGraphRequestError(error, what);
      }
    },
    async putUploadRange(uploadUrl, bytes, start, total, callOptions = {}) {
      const what = 'upload range';
      const attempt = async (): Promise<UploadRangeResult> => {
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
      };
      try {
        return await withRetry(
          () => attemptThroughGate(attempt, { ...callOptions, requestBytes: bytes.length }),
          profile,
          classifyGraphError,
          retryOptions(what, callOptions),
        );
      } catch (error) {
        throw toGraphRequestError(error, what);
      }
    },
  };
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
