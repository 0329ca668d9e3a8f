/**
 * Pure decisions of the archive-run orchestrator: how many activities each
 * stage gets in a round, when the run is drained, and the custom status. No
 * clock, no randomness, no I/O: the orchestrator replays them.
 */
import type { QueueDepths, StageBatchResult } from './activities';
import type { RunTrigger } from './runs';
import type { TimeWindow } from './item';
import { ActivityNames, StageOrder, type StageName } from './names';
import type { Settings } from './config';

/** Knobs the starter reads from settings, since the orchestrator may not read them itself. */
export interface RunTuning {
  maxParallelActivities: number;
  queueBatchSize: number;
  convertBatchSize: number;
  pollIntervalInSeconds: number;
  roundsPerExecution: number;
}

export type RunPhase = 'begin' | 'drain' | 'import' | 'finish';

export interface StageProgress { done: number; poisoned: number }

/** What the orchestrator carries across continue-as-new: counts, never items. */
export interface RunProgress {
  phase: RunPhase;
  rounds: number;
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

/** The activity that does each stage's work. */
export const StageActivities: Record<StageName, string> = {
  fetch: ActivityNames.fetchSlices,
  stage: ActivityNames.stageItems,
  convert: ActivityNames.convertItems,
  map: ActivityNames.mapItems,
  import: ActivityNames.importMailbox,
};

/** Retry policy of every activity call (durable-functions RetryOptions fields). */
export const activityRetry = {
  firstRetryIntervalInMilliseconds: 2000,
  maxNumberOfAttempts: 5,
  backoffCoefficient: 2,
  maxRetryIntervalInMilliseconds: 60_000,
} as const;

/** Tuning from settings, fixed into the orchestration's input at start. */
export function tuningFromSettings(settings: Settings): RunTuning {
  return {
    maxParallelActivities: settings.MAX_PARALLEL_ACTIVITIES,
    queueBatchSize: settings.QUEUE_BATCH_SIZE,
    convertBatchSize: Math.min(8, settings.QUEUE_BATCH_SIZE),
    pollIntervalInSeconds: Math.max(1, Math.min(30, Math.round(settings.QUEUE_VISIBILITY_TIMEOUT_SECONDS / 10))),
    roundsPerExecution: 20,
  };
}

/** A fresh run's progress. */
export function initialProgress(): RunProgress {
  const stages = Object.fromEntries(StageOrder.map((s) => [s, { done: 0, poisoned: 0 }])) as Record<StageName, StageProgress>;
  return { phase: 'begin', rounds: 0, slices: 0, mailboxes: 0, units: 0, stages };
}

export interface RoundPlan {
  /** Every queue is empty: nothing waits and nothing is leased. */
  drained: boolean;
  /** One entry per activity to call this round. */
  calls: { stage: StageName; activity: string }[];
}

/** How many activities each stage gets this round, by the work visible in its queue. */
export function planRound(depths: QueueDepths, tuning: RunTuning): RoundPlan {
  const drained = StageOrder.every((stage) => depths[stage].approximate === 0 && depths[stage].visible === 0);
  const calls: RoundPlan['calls'] = [];
  for (const stage of StageOrder) {
    const { approximate, visible } = depths[stage];
    if (visible === 0) continue;
    const waiting = Math.max(approximate, visible);
    const perActivity = stage === 'fetch' || stage === 'import' ? 1 : stage === 'convert' ? tuning.convertBatchSize : tuning.queueBatchSize;
    const count = Math.min(tuning.maxParallelActivities, Math.ceil(waiting / perActivity));
    for (let i = 0; i < count; i++) calls.push({ stage, activity: StageActivities[stage] });
  }
  return { drained, calls };
}

/** Adds a round's results to the progress. */
export function addRound(progress: RunProgress, calls: RoundPlan['calls'], results: StageBatchResult[]): void {
  calls.forEach((call, i) => {
    progress.stages[call.stage].done += results[i].done;
    progress.stages[call.stage].poisoned += results[i].poisoned;
  });
  progress.rounds++;
}

/** The custom status: per-stage counts, well under 16 KB. */
export function customStatus(input: ArchiveRunInput, progress: RunProgress, depths?: QueueDepths) {
  return {
    runId: input.runId,
    phase: progress.phase,
    round: progress.rounds,
    slices: progress.slices,
    mailboxes: progress.mailboxes,
    units: progress.units,
    stages: Object.fromEntries(
      StageOrder.map((s) => [s, { done: progress.stages[s].done, poisoned: progress.stages[s].poisoned, waiting: depths?.[s].approximate ?? 0 }]),
    ),
  };
}
