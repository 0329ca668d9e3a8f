/**
 * What the stage activities exchange: the claim checks on the stage queues,
 * the ports they need, and their inputs and results (counts, never items).
 */
import type { Readable } from 'node:stream';
import type { Settings } from '../config';
import type { Item, StagedItem } from '../item';
import type { StageName } from '../names';
import type { QueueDepth, StageQueue } from '../queues';
import type { ReportCounts, RunReport } from '../report';
import type { PoisonDepths } from '../housekeeping';
import type { RetentionMarker } from '../retention';
import type { RunRecord, RunStore } from '../runs';
import type { StagingStore } from '../staging';
import type { ArchiveSource, ConvertResult, ImportUnit, ItemRouting, MailboxImporter, RecordValidation, ResolvedMailbox } from '../stages';
import type { WindowSlice } from '../window';

// ---- messages on the stage queues (claim checks, never payloads) -----------

export interface FetchMessage { runId: string; slice: WindowSlice }
export interface StageRecordMessage { runId: string; pageBlob: string; index: number }
export interface ItemMessage { runId: string; itemKey: string }
/**
 * One step of a mailbox's import chain: the units of `unitsBlob` from
 * `offset`; at the end of the list (`offset` = its length) a sweep, the
 * `sweep`th, of the units still pending because another worker held them
 * (since `heldSince`).
 */
export interface ImportMessage { runId: string; mailboxId: string; unitsBlob: string; offset: number; sweep?: number; heldSince?: string }

export interface StageQueues {
  fetch: StageQueue<FetchMessage>;
  stage: StageQueue<StageRecordMessage>;
  convert: StageQueue<ItemMessage>;
  map: StageQueue<ItemMessage>;
  import: StageQueue<ImportMessage>;
}

/** One mailbox's units in one run: the blob an import message points at. */
export interface UnitList {
  mailbox: ResolvedMailbox;
  units: ImportUnit[];
}

// ---- the ports the activities need ------------------------------------------

/** The staging store as the activities use it. */
export type StagingPort = Pick<
  StagingStore,
  'putRawPage' | 'readRawPage' | 'putInvalidRecord' | 'stageItem' | 'readStagedItem' | 'openMedia' | 'putItemBlob' | 'itemBlobExists' | 'reopenItem'
>;

/** A blob store for per-run working data (unit lists) and reports. */
export interface BlobPort {
  /** Writes a blob; with `ifAbsent` only when it does not exist yet (the first version stands). */
  putText(container: 'runs' | 'reports', name: string, text: string, contentType: string, options?: { ifAbsent?: boolean }): Promise<void>;
  getText(container: 'runs' | 'reports', name: string): Promise<string>;
}

export interface ActivityLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ActivityDependencies {
  settings: Settings;
  queues: StageQueues;
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
  /** Marks a finished run's blobs for the storage lifecycle rule (shared/retention.ts); absent, nothing is marked. */
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

// ---- inputs and results -------------------------------------------------------

/** What the orchestrator knows of a run when it begins it: the run record less its outcome. */
export type BeginRunInput = Pick<RunRecord, 'runId' | 'instanceId' | 'trigger' | 'window' | 'readFrom' | 'startedAt' | 'redriveOf'>;
export interface BeginRunResult { slices: number }

export interface RunRef { runId: string }

export interface StageBatchResult {
  /** Messages taken from the queue. */
  taken: number;
  /** Messages finished (outcome recorded or handed on). */
  done: number;
  poisoned: number;
}

export type QueueDepths = Record<StageName, QueueDepth>;

export interface PlanImportResult { mailboxes: number; units: number }

export interface FinishRunInput { runId: string; error?: string; finishedAt: string }
export interface FinishRunResult { runId: string; status: RunReport['status']; counts: ReportCounts; error?: string }
