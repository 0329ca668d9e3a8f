/**
 * Pure decisions of the archive-run orchestrator and its stage workers: how
 * many workers each stage gets, when a worker's work is over, how counts add
 * up, and the custom status. No clock, no randomness, no I/O: the
 * orchestrators replay them.
 *
 * Why workers (sub-orchestrations) rather than one loop over `Task.any`:
 * keeping N activities in flight and starting the next as soon as any
 * finishes means yielding the unfinished ones again in a new `Task.any`, and
 * durable-js (up to 3.x, over the extension's out-of-process protocol) sends
 * such re-used sub-tasks as new scheduling requests, so they would run twice
 * (Azure/azure-functions-durable-js#574). A worker yields each of its
 * activities once, one after another, and starts the next the moment the
 * last returns; the run yields each phase's new workers once, in one
 * `Task.all`. No round waits for the slowest activity of another.
 */
import type { QueueDepths, StageBatchResult } from './messages';
import type { RunTrigger } from './runs';
import type { TimeWindow } from '../model/item';
import { StageOrder, type StageName } from '../platform/names';

/** Knobs the starter reads from settings, since the orchestrators may not read them themselves. */
export interface RunTuning {
  /** Workers (activities in flight) per drain stage. */
  workersPerStage: number;
  /** Import workers: each takes IMPORT_MAILBOXES_PER_ACTIVITY mailboxes at once. */
  importWorkers: number;
  /** How long an idle worker waits before it looks at the queues again. */
  pollIntervalInSeconds: number;
  /** Activity calls a worker makes before it continues as new (bounds its history). */
  callsPerExecution: number;
}

export type RunPhase = 'begin' | 'drain' | 'import' | 'finish';

/** A stage's counts: messages done and poisoned, messages sent on, items carried. */
export interface StageProgress { done: number; poisoned: number; sent: number; items: number }

/** What the run orchestrator carries: counts, never items. */
export interface RunProgress {
  phase: RunPhase;
  slices: number;
  mailboxes: number;
  units: number;
  stages: Record<StageName, StageProgress>;
}

export interface ArchiveRunInput {
  runId: string;
  trigger: RunTrigger;
  window: TimeWindow;
  readFrom: string;
  redriveOf?: string;
  tuning: RunTuning;
  progress?: RunProgress;
}

export interface ArchiveRunOutput {
  runId: string;
  status: string;
  counts: Record<string, number>;
  error?: string;
}

/** What a stage worker is given: its run, its stage, the stages whose work can still reach its queue. */
export interface StageWorkerInput {
  runId: string;
  stage: StageName;
  /** The stages before it in the pipeline (their messages become its messages). */
  upstream: StageName[];
  pollIntervalInSeconds: number;
  callsPerExecution: number;
  /** Counts of earlier executions (continue-as-new carries them). */
  totals?: StageWorkerTotals;
}

export interface StageWorkerTotals extends StageProgress {
  /** Import units the mapping worker added (mapping only). */
  units: number;
}

/** The stages whose work drains before the import starts. */
export const DrainStages: readonly StageName[] = ['fetch', 'stage', 'convert', 'map'];

/** A fresh run's progress. */
export function initialProgress(): RunProgress {
  return { phase: 'begin', slices: 0, mailboxes: 0, units: 0, stages: zeroStages() };
}

function zeroStages(): Record<StageName, StageProgress> {
  return Object.fromEntries(StageOrder.map((s) => [s, { done: 0, poisoned: 0, sent: 0, items: 0 }])) as Record<StageName, StageProgress>;
}

/** Zeroed worker totals. */
export function emptyTotals(): StageWorkerTotals {
  return { done: 0, poisoned: 0, sent: 0, items: 0, units: 0 };
}

/** The workers of a phase: how many per stage (fetch no more than there are slices). */
export function phaseWorkers(phase: 'drain' | 'import', tuning: RunTuning, slices: number): { stage: StageName; index: number }[] {
  if (phase === 'import') return Array.from({ length: tuning.importWorkers }, (_, index) => ({ stage: 'import' as const, index }));
  const out: { stage: StageName; index: number }[] = [];
  for (const stage of DrainStages) {
    const count = stage === 'fetch' ? Math.max(1, Math.min(tuning.workersPerStage, slices)) : tuning.workersPerStage;
    for (let index = 0; index < count; index++) out.push({ stage, index });
  }
  return out;
}

/**
 * A worker's instance id: its run's instance and run ids (a window run again
 * is a new run, whose workers must be new instances), its stage and number;
 * derived from the input, so a replay names the same instance.
 */
export function workerInstanceId(runInstanceId: string, runId: string, stage: StageName, index: number): string {
  return `${runInstanceId}:${runId}:${stage}:${index}`;
}

/** The stages before `stage` whose work can still reach its queue. */
export function upstreamOf(stage: StageName): StageName[] {
  return stage === 'import' ? [] : DrainStages.slice(0, DrainStages.indexOf(stage));
}

/** True when no message waits or is leased in `stage` or any stage before it: no more work can reach the worker. */
export function workerDone(depths: Partial<QueueDepths>, stages: readonly StageName[]): boolean {
  return stages.every((s) => (depths[s]?.approximate ?? 0) === 0);
}

/** Adds an activity's result to a worker's totals. */
export function addResult(totals: StageWorkerTotals, result: StageBatchResult & { units?: number }): StageWorkerTotals {
  return {
    done: totals.done + result.done,
    poisoned: totals.poisoned + result.poisoned,
    sent: totals.sent + result.sent,
    items: totals.items + result.items,
    units: totals.units + (result.units ?? 0),
  };
}

/** Adds the workers' totals of a phase to the run's progress. */
export function addWorkers(progress: RunProgress, workers: readonly { stage: StageName }[], totals: readonly StageWorkerTotals[]): void {
  workers.forEach(({ stage }, i) => {
    const p = progress.stages[stage];
    p.done += totals[i].done;
    p.poisoned += totals[i].poisoned;
    p.sent += totals[i].sent;
    p.items += totals[i].items;
    progress.units += totals[i].units;
  });
}

/** The run's custom status: its phase and per-stage counts, well under 16 KB. */
export function customStatus(input: ArchiveRunInput, progress: RunProgress) {
  return {
    runId: input.runId,
    phase: progress.phase,
    slices: progress.slices,
    mailboxes: progress.mailboxes,
    units: progress.units,
    stages: Object.fromEntries(StageOrder.map((s) => [s, { ...progress.stages[s] }])),
  };
}

/** A worker's custom status: its stage and counts so far. */
export function workerStatus(input: StageWorkerInput, totals: StageWorkerTotals) {
  return { runId: input.runId, stage: input.stage, ...totals };
}
