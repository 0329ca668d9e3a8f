/**
 * The typed seams between the stage modules: what each stage hands the next.
 * Each stage module (source, staging, convert, mapping, import, ledger,
 * report) implements its side of these; the activities in
 * shared/activities/ wire them to the stage queues.
 */
import type { Readable } from 'node:stream';
import type { Item, ItemType, StagedItem, TimeWindow } from './item';
import type { FailureReason } from './reasons';

// ---- source ------------------------------------------------------------

export interface SourcePage {
  /** Raw records as the archive sent them: not yet validated. */
  records: unknown[];
  nextCursor: string | null;
}

export interface MediaDownload {
  stream: Readable;
  contentType: string | null;
  contentLength: number | null;
}

/** Where O2 items come from: the TeleMessage archive API, or another transport later. */
export interface ArchiveSource {
  /** One page of the window's records; `cursor` null for the first page. */
  listPage(window: TimeWindow, cursor: string | null): Promise<SourcePage>;
  /** Streams one media file or call recording; throws ArchiverError MEDIA_MISSING when it is gone. */
  openMedia(itemId: string, mediaId: string): Promise<MediaDownload>;
  /** Proves the login works; throws ArchiverError SOURCE_AUTH_FAILED naming the setting to fix. */
  checkLogin(): Promise<void>;
}

export type RecordValidation =
  | { ok: true; item: Item; sourceSha256: string }
  | { ok: false; itemId: string | null; type: ItemType | 'unknown'; detail: string };

// ---- staging -----------------------------------------------------------

export type StageItemResult =
  | { ok: true; staged: StagedItem }
  | { ok: false; reason: Extract<FailureReason, 'media-missing' | 'media-checksum-mismatch'>; detail: string };

/** Names of the blobs kept beside a staged item: the archival record. */
export type ItemBlobName = 'message.eml';

// ---- convert -----------------------------------------------------------

export interface EmailAddress {
  /** Display name as the contract says: `Name (+447700900123)` or the label. */
  name: string;
  address: string;
}

export interface ArchivedAttachment {
  mediaId: string;
  /** Safe file name: no path, no control characters. */
  fileName: string;
  contentType: string;
  size: number;
  sha256: string;
}

/**
 * The converted message as data: what the .eml holds, in the form the Graph
 * import needs (archived-email.md). Kept in the converted batch and in each unit's row.
 */
export interface ArchivedEmail {
  itemId: string;
  itemKey: string;
  itemType: ItemType;
  messageId: string;
  /** The item's time, ISO 8601 UTC. */
  date: string;
  subject: string;
  from: EmailAddress;
  to: EmailAddress[];
  text: string;
  html?: string;
  /** Every X-O2Archiver header of the .eml, in the contract's spelling. */
  archiverHeaders: Record<string, string>;
  /** The thread: `References` root and `Thread-Topic`. */
  references: string;
  threadTopic: string;
  attachments: ArchivedAttachment[];
  /** Size of the .eml in bytes. */
  emlSizeInBytes?: number;
}

export type ConvertResult =
  | { ok: true; email: ArchivedEmail; eml: Readable }
  | { ok: false; reason: Extract<FailureReason, 'too-large' | 'conversion-error'>; detail: string };

// ---- mapping -----------------------------------------------------------

/** A Microsoft 365 user as Graph confirmed it. */
export interface DirectoryUser {
  /** Entra object id: from here on the mailbox is known by it. */
  id: string;
  userPrincipalName: string;
  mail?: string | null;
}

/** Looks users up in the tenant by any address they answer to (UPN, primary SMTP, proxy address). */
export interface UserDirectory {
  /** Lower-case address -> user, for the addresses that are users; the rest are absent. */
  findUsers(addresses: readonly string[]): Promise<Map<string, DirectoryUser>>;
}

export interface ResolvedMailbox {
  objectId: string;
  userPrincipalName: string;
}

export interface ItemRouting {
  /** One per distinct mailbox (by object id). */
  mailboxes: ResolvedMailbox[];
  /** Numbers (E.164, or the sender id as given) of participants that found no user. */
  unmappedNumbers: string[];
}

// ---- import ------------------------------------------------------------

/** One (item, mailbox) pair to import, with the email to import. */
export interface ImportUnit {
  itemKey: string;
  itemId: string;
  itemType: ItemType;
  email: ArchivedEmail;
}

export type UnitResult =
  | { itemKey: string; outcome: 'imported' | 'duplicate'; graphMessageId?: string }
  | { itemKey: string; outcome: 'partial'; reason: Extract<FailureReason, 'attachment-refused'>; detail: string; graphMessageId?: string }
  /**
   * `transient`: Graph kept failing in a way a later attempt can change (429, 503, 5xx, no answer) past a
   * call's retry budget; the import chain tries the unit again on a later pass before the failure stands.
   */
  | { itemKey: string; outcome: 'failed'; reason: FailureReason; detail: string; transient?: true }
  /** Not final: another worker holds the unit (or took it over); its outcome decides, so the unit is tried again later. */
  | { itemKey: string; outcome: 'held'; detail: string };

/** Imports a batch of units into one mailbox, exactly once each (the ledger decides). */
export interface MailboxImporter {
  importUnits(runId: string, mailbox: ResolvedMailbox, units: readonly ImportUnit[]): Promise<UnitResult[]>;
}
