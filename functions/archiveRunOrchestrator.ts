/**
 * The archive-run orchestrator: begins the run, drains the stages with
 * workers (sub-orchestrations, several per stage, each starting its next
 * activity the moment the last returns), plans the import per mailbox, runs
 * the import workers, and finishes with the report. Deterministic: the clock
 * is `currentUtcDateTime`, everything else is an activity or a worker.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { OrchestratorNames } from '../shared/platform/names';
import { activityCaller, activityRetryOptions } from '../shared/activities/calls';
import {
  addWorkers,
  customStatus,
  initialProgress,
  phaseWorkers,
  upstreamOf,
  workerInstanceId,
  type ArchiveRunInput,
  type ArchiveRunOutput,
  type RunProgress,
  type StageWorkerInput,
  type StageWorkerTotals,
} from '../shared/run/orchestration';
import type { FinishRunResult } from '../shared/run/messages';

const retry = activityRetryOptions(df.RetryOptions);

/** Runs a phase's workers side by side until each finds its stages drained, and adds their counts. */
function* runWorkers(context: OrchestrationContext, input: ArchiveRunInput, progress: RunProgress, phase: 'drain' | 'import') {
  const workers = phaseWorkers(phase, input.tuning, progress.slices);
  const tasks = workers.map(({ stage, index }) => {
    const worker: StageWorkerInput = {
      runId: input.runId, stage, upstream: upstreamOf(stage),
      pollIntervalInSeconds: input.tuning.pollIntervalInSeconds, callsPerExecution: input.tuning.callsPerExecution,
    };
    return context.df.callSubOrchestrator(OrchestratorNames.stageWorker, worker, workerInstanceId(context.df.instanceId, input.runId, stage, index));
  });
  const totals: StageWorkerTotals[] = yield context.df.Task.all(tasks);
  addWorkers(progress, workers, totals);
}

export const archiveRunOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput() as ArchiveRunInput;
  const progress = input.progress ?? initialProgress();
  const runRef = { runId: input.runId };
  const call = activityCaller(context, retry);
  const status = () => context.df.setCustomStatus(customStatus(input, progress));
  const log = (line: string) => {
    if (!context.df.isReplaying) context.log(`run ${input.runId}: ${line}`);
  };
  try {
    const begun = yield* call('beginRun', {
      runId: input.runId,
      instanceId: context.df.instanceId,
      trigger: input.trigger,
      window: input.window,
      readFrom: input.readFrom,
      startedAt: context.df.currentUtcDateTime.toISOString(),
      ...(input.redriveOf ? { redriveOf: input.redriveOf } : {}),
    });
    progress.slices = begun.slices;
    progress.phase = 'drain';
    log(`begun with ${begun.slices} slice(s) of ${input.readFrom} .. ${input.window.to}`);
    status();
    yield* runWorkers(context, input, progress, 'drain');
    const planned = yield* call('planImport', runRef);
    progress.mailboxes = planned.mailboxes;
    progress.phase = 'import';
    log(`import planned for ${progress.units} unit(s) in ${planned.mailboxes} mailbox(es)`);
    status();
    yield* runWorkers(context, input, progress, 'import');
    progress.phase = 'finish';
    status();
    const finished = yield* call('finishRun', {
      runId: input.runId,
      finishedAt: context.df.currentUtcDateTime.toISOString(),
    });
    log(`${finished.status} ${JSON.stringify(finished.counts)}`);
    return toOutput(finished);
  } catch (e) {
    // An activity (or a worker's) failed past its retry policy: the run is failed, and the report says why.
    const finished = yield* call('finishRun', {
      runId: input.runId,
      finishedAt: context.df.currentUtcDateTime.toISOString(),
      error: e instanceof Error ? e.message : String(e),
    });
    return toOutput(finished);
  }
};

function toOutput(finished: FinishRunResult): ArchiveRunOutput {
  return { runId: finished.runId, status: finished.status, counts: { ...finished.counts }, ...(finished.error ? { error: finished.error } : {}) };
}

df.app.orchestration(OrchestratorNames.archiveRun, archiveRunOrchestrator);
