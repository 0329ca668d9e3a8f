/**
 * The contract between the orchestrator, the activities and the stage
 * queues: the claim checks on the queues (names and keys, never payloads) and
 * each activity's input and result (counts, never items). Types only, below
 * the modules that use them, so that activities and the run's modules import
 * it and never each other.
 */
import type { Item, StagedItem } from '../model/item';
import type { StageName } from '../platform/names';
import type { QueueDepth, StageQueue } from '../platform/queues';
import type { ReportCounts, RunReport } from './report';
import type { RunRecord } from './runs';
import type { ArchivedEmail } from '../model/stages';
import type { WindowSlice } from './window';

// ---- messages on the stage queues (claim checks, never payloads) -----------
// Each names a batch: a slice of the window, a page of records, a batch of items, a step of a mailbox's chain.

export interface FetchMessage { runId: string; slice: WindowSlice }
/** One page of raw records the source returned (a blob in staging). */
export interface PageMessage { runId: string; pageBlob: string; records: number }
/** A batch of items between stages: staged items for conversion, converted items for mapping (a blob in staging). */
export interface BatchMessage { runId: string; batchBlob: string; items: number }
/**
 * One step of a mailbox's import chain: the pending units of the mailbox
 * after item key `after`, in item-key order. `pass` 0 walks the mailbox once;
 * a later pass (a sweep, since `heldSince`) walks it again for the units
 * left for later (another worker held them, or Graph failed them only
 * transiently); `held` says this pass left some pending; on the `lastPass`
 * every outcome stands.
 */
export interface ImportMessage {
  runId: string;
  mailboxId: string;
  mailbox: string;
  step: number;
  pass: number;
  after?: string;
  held?: boolean;
  heldSince?: string;
  lastPass?: boolean;
}

export interface StageQueues {
  fetch: StageQueue<FetchMessage>;
  stage: StageQueue<PageMessage>;
  convert: StageQueue<BatchMessage>;
  map: StageQueue<BatchMessage>;
  import: StageQueue<ImportMessage>;
}

/**
 * The stage queues of each run: a run's work waits in queues of its own, so
 * that overlapping runs never wait for or count each other's messages; the
 * poison queues are shared (one per stage), each message naming its run.
 */
export interface RunQueues {
  of(runId: string): StageQueues;
  /** Creates the run's queues (and the shared poison queues) when missing. */
  ensure(runId: string): Promise<void>;
  /** Deletes the run's queues once it has finished (they are empty). */
  remove(runId: string): Promise<void>;
}

/** Staged items of one page of records, as conversion reads them. */
export interface StagedBatch { runId: string; items: StagedItem[] }

/** One converted item: what mapping routes and the import sends. */
export interface ConvertedItem { itemKey: string; item: Item; email: ArchivedEmail }

/** Converted items of one batch, as mapping reads them. */
export interface ConvertedBatch { runId: string; items: ConvertedItem[] }

// ---- inputs and results -------------------------------------------------------

/** What the orchestrator knows of a run when it begins it: the run record less its outcome. */
export type BeginRunInput = Pick<RunRecord, 'runId' | 'instanceId' | 'trigger' | 'window' | 'readFrom' | 'startedAt' | 'redriveOf'>;
export interface BeginRunResult {
  slices: number;
  /** Messages begun on each queue (fetch slices; a re-drive's batches on convert and map). */
  queued: Partial<Record<StageName, number>>;
}

export interface RunRef { runId: string }

/** Which of the run's stage queues to measure (all when absent). */
export interface QueueDepthsInput extends RunRef { stages?: StageName[] }

export interface StageBatchResult {
  /** Messages taken from the queue. */
  taken: number;
  /** Messages finished (outcome recorded or handed on). */
  done: number;
  poisoned: number;
  /** Messages put on the next stage's queue (or, for import, on its own: the chains going on). */
  sent: number;
  /** Items (or, for import, units) the finished messages carried. */
  items: number;
}

export type QueueDepths = Record<StageName, QueueDepth>;

export interface PlanImportResult { mailboxes: number }

export interface FinishRunInput { runId: string; error?: string; finishedAt: string }
export interface FinishRunResult { runId: string; status: RunReport['status']; counts: ReportCounts; error?: string }
