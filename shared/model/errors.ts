/**
 * One registry of error codes with a sentence each (as nodemailer's
 * lib/errors.js), and one error type that carries the code.
 */
export const ErrorCodes = {
  SETTING_MISSING: 'A required setting is not set.',
  SETTING_INVALID: 'A setting has a value that cannot be used.',
  SOURCE_AUTH_FAILED: 'TeleMessage refused the username or password.',
  SOURCE_UNAVAILABLE: 'TeleMessage did not answer after every retry.',
  SOURCE_BAD_REQUEST: 'TeleMessage rejected a request as malformed (a defect).',
  SOURCE_BAD_RESPONSE: 'TeleMessage answered with something that is not the contract.',
  MEDIA_MISSING: 'A media file or call recording is gone from the archive.',
  MEDIA_CHECKSUM_MISMATCH: 'A media file does not match the SHA-256 of its descriptor.',
  GRAPH_AUTH_FAILED: 'Microsoft Graph refused the credentials.',
  GRAPH_UNAVAILABLE: 'Microsoft Graph did not answer after every retry.',
  GRAPH_ERROR: 'Microsoft Graph refused a request.',
  MAPPING_INVALID: 'The user mapping file has errors and was rejected whole.',
  BAD_USAGE: 'The command line was not understood.',
  BAD_WINDOW: 'A run was asked for a window that cannot be run at once (longer than MAX_WINDOW_DAYS).',
  NOT_FOUND: 'The thing asked for does not exist.',
  CONFLICT: 'Another worker holds or changed the same record.',
  UNIT_LOST: 'Another worker took over an import unit this worker held: it must not write to the mailbox for it again.',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface ArchiverErrorOptions {
  retryable?: boolean;
  statusCode?: number;
  /** A setting the admin should look at, named in the message. */
  setting?: string;
  cause?: unknown;
}

/** An error of the connector, with a stable code and whether a retry may help. */
export class ArchiverError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly statusCode?: number;
  readonly setting?: string;

  constructor(code: ErrorCode, message?: string, options: ArchiverErrorOptions = {}) {
    super(message ?? ErrorCodes[code], options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ArchiverError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.statusCode = options.statusCode;
    this.setting = options.setting;
  }
}

/** True when `e` is an ArchiverError (optionally of the given code). */
export function isArchiverError(e: unknown, code?: ErrorCode): e is ArchiverError {
  return e instanceof ArchiverError && (code === undefined || e.code === code);
}

/** The message of anything thrown, for logs and reports (never a stack). */
export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
