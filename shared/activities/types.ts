/**
 * What the stage activities need: the ports they are given (one factory builds
 * them, shared/app/root.ts) and the context every activity gets. The messages
 * they exchange and their inputs and results are in shared/run/messages.ts.
 */
import type { Readable } from 'node:stream';
import type { Settings } from '../platform/config';
import type { Item, StagedItem } from '../model/item';
import type { PoisonDepths } from '../run/housekeeping';
import type { RetentionMarker } from '../stages/staging/retention';
import type { RunStore } from '../run/runs';
import type { RunQueues } from '../run/messages';
import type { StagingPort } from '../stages/staging/store';
import type { BlobPort } from '../platform/storage';
import type { ActivityLog } from '../platform/logging';
import type { ArchiveSource, ConvertResult, ItemRouting, MailboxImporter, RecordValidation } from '../model/stages';

export type { StagingPort } from '../stages/staging/store';
export type { BlobPort } from '../platform/storage';
export type { ActivityLog } from '../platform/logging';
export type * from '../run/messages';

// ---- the ports the activities need ------------------------------------------

export interface ActivityDependencies {
  settings: Settings;
  queues: RunQueues;
  runs: RunStore;
  blobs: BlobPort;
  staging: StagingPort;
  /** The archive source; created lazily, so activities that never call it need no TeleMessage settings. */
  source(): ArchiveSource;
  validateRecord(raw: unknown): RecordValidation;
  convertItem(staged: StagedItem, openMedia: (mediaId: string) => Promise<Readable>): Promise<ConvertResult>;
  /** A router for one batch, over the mapping in force and the tenant's users. */
  router(): Promise<{ routeMany(items: Item[]): Promise<ItemRouting[]> }>;
  importer(): MailboxImporter;
  /** Creates the queues, containers and tables when missing (once per process). */
  ensureStorage(): Promise<void>;
  /** Marks a finished run's blobs for the storage lifecycle rule (shared/stages/staging/retention.ts); absent, nothing is marked. */
  retention?: RetentionMarker;
  /** How many messages wait in each poison queue (logged for the alerts); absent, not logged. */
  poisonDepths?(): Promise<PoisonDepths>;
  log?: ActivityLog;
}

/** What every activity gets: its dependencies, a log, and how often to renew a long lease. */
export interface ActivityContext {
  deps: ActivityDependencies;
  log: ActivityLog;
  leaseRenewalInMs: number;
}

