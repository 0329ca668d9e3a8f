/** The emulator's options, its stored data, and its statistics. */

/** One user of the emulated tenant. */
export interface TenantUserInput {
  /** Entra object id; made from the UPN when absent, so it is stable across restarts. */
  id?: string;
  displayName: string;
  userPrincipalName: string;
  mail?: string | null;
  /** e.g. `SMTP:primary@contoso.com`, `smtp:alias@contoso.com`. */
  proxyAddresses?: string[];
  /** false: a directory user with no Exchange mailbox (Graph answers 404 MailboxNotEnabledForRESTAPI). */
  hasMailbox?: boolean;
}

export interface TenantUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
  mail: string | null;
  proxyAddresses: string[];
  hasMailbox: boolean;
}

export interface GraphLimits {
  /** Outlook: concurrent requests per app and mailbox. Default 4. */
  concurrentPerMailbox: number;
  /** Outlook: requests per app and mailbox per 10 minutes. Default 10,000. */
  requestsPer10Min: number;
  /** Outlook: bytes uploaded (POST, PUT, PATCH bodies) per mailbox per 5 minutes. Default 150 MB. */
  uploadBytesPer5Min: number;
  /** Largest request body Graph accepts. Default 4 MB (4,194,304). */
  maxRequestBytes: number;
  /** Exchange Online's maximum message size, attachments included: 35 MB by default, which admins may raise to 150 MB. Default 36,700,160. */
  maxMessageBytes: number;
  /** Scales the 10- and 5-minute windows and Retry-After (tests use e.g. 0.001). Default 1. */
  timeScale: number;
}

export type NonDraftAttachments = 'allow' | 'refuse';

/**
 * What a JSON create does with PR_MESSAGE_FLAGS (`Integer 0x0E07`) given at
 * creation: 'honour' (default) saves a message without MSGFLAG_UNSENT as a
 * non-draft, as Exchange does; 'ignore' saves every JSON-created message as a
 * draft, the answer a tenant gives where the flag is not taken at creation.
 */
export type MessageFlagsAtCreate = 'honour' | 'ignore';

/**
 * What a JSON create does with PR_MESSAGE_DELIVERY_TIME and
 * PR_CLIENT_SUBMIT_TIME: 'honour' (default) shows them as receivedDateTime and
 * sentDateTime; 'ignore' shows the creation time for both.
 */
export type DeliveryTimeMode = 'honour' | 'ignore';

/**
 * Whether `$filter` on `singleValueExtendedProperties/any(…)` works on
 * messages: 'supported' (default, as Graph documents it) or 'refuse' (400
 * ErrorInvalidUrlQueryFilter).
 */
export type ExtendedPropertyFilterMode = 'supported' | 'refuse';

/**
 * What a GET on an attachment upload URL does. Graph's uploadSession resource
 * reports a session's nextExpectedRanges and its SDKs resume by a GET on the
 * upload URL, but "Attach large files to Outlook messages" documents only PUT
 * and DELETE there: 'answer' gives the status, 'refuse' answers 405.
 */
export type UploadSessionStatusMode = 'answer' | 'refuse';

export interface GraphEmulatorOptions {
  users?: TenantUserInput[];
  /** The bearer token every request must carry. Default `dev-token`. */
  token?: string;
  /** Keep state, .eml files and the certificate here; a restart with the same dir resumes. */
  stateDir?: string;
  /** Port to listen on; 0 (default) picks a free one. Reuse the old port when restarting for a running client. */
  port?: number;
  /** Share of requests answered with a transient fault (0..1). Default `GRAPH_EMULATOR_FAULT_RATE` or 0. */
  faultRate?: number;
  /** Seed of the faults. Default `EMULATOR_SEED` or 1. */
  seed?: number | string;
  limits?: Partial<GraphLimits>;
  /** What an attachment POST / createUploadSession on a non-draft message does. Default 'allow'. */
  nonDraftAttachments?: NonDraftAttachments;
  /** What a JSON create does with PR_MESSAGE_FLAGS. Default 'honour'. */
  messageFlagsAtCreate?: MessageFlagsAtCreate;
  /** What a JSON create does with the delivery and submit times. Default 'honour'. */
  deliveryTime?: DeliveryTimeMode;
  /** Whether $filter on extended properties works. Default 'supported'. */
  extendedPropertyFilter?: ExtendedPropertyFilterMode;
  /** What a GET on an upload URL does (undocumented for Outlook attachments). Default 'answer'. */
  uploadSessionStatus?: UploadSessionStatusMode;
  /** Extra time every mailbox request takes, so that tests can hold requests in flight. Default 0. */
  latencyInMs?: number;
  /**
   * A new message stays invisible to \$filter for this long, as if the query
   * ran on an index that lags the store (Graph documents no read-after-write
   * guarantee for \$filter). Default 0.
   */
  filterLagInMs?: number;
  /** Retry-After of the random 429/503 faults, in seconds; default 1 or 2 (seeded). */
  faultRetryAfterInSeconds?: number;
  /** Lifetime of an upload session. Default 15 minutes. */
  uploadSessionTtlInMs?: number;
  /** Host name put in upload URLs; differs from the Graph host as outlook.office.com does. Default `localhost`. */
  uploadHost?: string;
  /** Log each request to stderr. */
  log?: boolean;
}

export interface EmailAddressJson {
  emailAddress: { name?: string; address?: string };
}

export interface StoredAttachment {
  id: string;
  name: string;
  contentType: string;
  /** Size Graph reports: the attachment item's size, larger than the file itself. */
  size: number;
  isInline: boolean;
  contentId: string | null;
  lastModifiedDateTime: string;
  contentBase64: string;
}

export interface StoredExtendedProperty {
  id: string;
  value: string;
}

export interface StoredMessage {
  id: string;
  folderId: string;
  changeKey: string;
  createdDateTime: string;
  lastModifiedDateTime: string;
  receivedDateTime: string;
  sentDateTime: string;
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  from: EmailAddressJson | null;
  sender: EmailAddressJson | null;
  toRecipients: EmailAddressJson[];
  ccRecipients: EmailAddressJson[];
  bccRecipients: EmailAddressJson[];
  replyTo: EmailAddressJson[];
  internetMessageId: string | null;
  internetMessageHeaders: { name: string; value: string }[];
  isDraft: boolean;
  isRead: boolean;
  importance: string;
  categories: string[];
  conversationId: string;
  singleValueExtendedProperties: StoredExtendedProperty[];
  attachments: StoredAttachment[];
  /** The MIME the message was imported from (importMime / MIME create), base64; absent for JSON-created messages. */
  mimeBase64?: string;
}

export interface StoredFolder {
  id: string;
  displayName: string;
  parentFolderId: string;
  /** Well-known name (inbox, drafts, …) for the default folders. */
  wellKnownName?: string;
  createdDateTime: string;
}

export interface MailboxStats {
  requests: number;
  maxConcurrency: number;
  inFlight: number;
  throttled: { concurrency: number; requestRate: number; uploadBytes: number };
  uploadedBytes: number;
  /** When the first and the last request admitted (not throttled) arrived, in ms since the epoch; 0 before any. */
  firstAdmittedAt: number;
  lastAdmittedAt: number;
}

export interface EmulatorStats {
  requests: number;
  faults: Record<string, number>;
  mailboxes: Record<string, MailboxStats>;
}

/** A one-off failure a test asks for: the next matching request(s) fail this way. */
export interface FailRule {
  method?: string;
  /** Matched against the path after the version segment (e.g. `/users/x/mailFolders`). */
  pathPattern: RegExp | string;
  status: number;
  code?: string;
  message?: string;
  times?: number;
  retryAfterInSeconds?: number;
  /** Drop the connection instead of answering. */
  reset?: boolean;
  /** Perform the request first, then fail it (the write happened; the client cannot know). */
  afterExecution?: boolean;
}
