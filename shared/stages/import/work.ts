/**
 * What importing one unit into one mailbox works with: the Graph client, the
 * staged email, the archive folder, and two kinds of call options, one for
 * reads and one for writes, which pass the claim's guard before every attempt.
 */
import type { Readable } from 'node:stream';
import type { GraphCallOptions, GraphClient } from '../../platform/graph/client';
import type { ArchivedEmail, ImportUnit } from '../../model/stages';

/** The part of the staging store the import reads (shared/stages/staging/store.ts): media, and the .eml for importMime. */
export interface ImportStaging {
  readItemBlob(itemKey: string, name: 'message.eml'): Promise<Buffer>;
  openMedia(itemKey: string, mediaId: string): Promise<Readable>;
  /** Bytes `start` up to (not including) `end` of a staged media file, into `into` when given: a large file is uploaded range by range. */
  readMediaRange(itemKey: string, mediaId: string, start: number, end: number, into?: Buffer): Promise<Buffer>;
}

export type ImportMode = 'json' | 'importMime';

export interface ImportLogEvent {
  event: 'unit-done' | 'unit-recovered' | 'attachment-refused' | 'mailbox-not-found' | 'unit-failed' | 'unit-lost' | 'copy-removed';
  mailboxId: string;
  itemKey?: string;
  detail?: string;
}

/** What importing a unit works with before its email is read. */
export interface UnitCalls {
  graph: GraphClient;
  staging: ImportStaging;
  mailboxId: string;
  /** The archive folder: where copies are created and the only place they are looked for. */
  folderId: string;
  unit: ImportUnit;
  importMode: ImportMode;
  /** For reads: the mailbox's gate. */
  read: GraphCallOptions;
  /** For writes: the gate, and the claim checked right before every attempt. */
  write: GraphCallOptions;
  /** The copy this worker created and has not removed; `sent` once any create went out. */
  created: { messageId?: string; sent: boolean };
  /** How long after a copy may have landed a look-up that finds nothing is believed (GRAPH_LOOKUP_SETTLE_SECONDS). */
  settleInMs: number;
  timeScale: number;
  sleep: (ms: number) => Promise<void>;
  log: (event: ImportLogEvent) => void;
}

/** Everything importing one unit works with, its email included. */
export interface UnitWork extends UnitCalls {
  email: ArchivedEmail;
}
