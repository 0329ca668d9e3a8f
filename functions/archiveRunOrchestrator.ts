/**
 * The archive-run orchestrator: begins the run, fans out stage activities by
 * queue depth until every stage queue is drained, plans the import per
 * mailbox, and finishes with the report. Deterministic: the clock is
 * `currentUtcDateTime`, everything else is an activity call.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { ActivityNames, OrchestratorNames } from '../shared/names';
import {
  activityRetry,
  addRound,
  customStatus,
  initialProgress,
  planRound,
  type ArchiveRunInput,
  type ArchiveRunOutput,
} from '../shared/orchestration';
import type { BeginRunResult, FinishRunResult, PlanImportResult, QueueDepths, StageBatchResult } from '../shared/activities';

const retry = Object.assign(
  new df.RetryOptions(activityRetry.firstRetryIntervalInMilliseconds, activityRetry.maxNumberOfAttempts),
  { backoffCoefficient: activityRetry.backoffCoefficient, maxRetryIntervalInMilliseconds: activityRetry.maxRetryIntervalInMilliseconds },
);

export const archiveRunOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput() as ArchiveRunInput;
  const progress = input.progress ?? initialProgress();
  const runRef = { runId: input.runId };
  try {
    if (progress.phase === 'begin') {
      const begun: BeginRunResult = yield context.df.callActivityWithRetry(ActivityNames.beginRun, retry, {
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
      if (!context.df.isReplaying) context.log(`run ${input.runId}: begun with ${begun.slices} slice(s) of ${input.readFrom} .. ${input.window.to}`);
      context.df.setCustomStatus(customStatus(input, progress));
    }
    for (let round = 0; progress.phase !== 'finish'; round++) {
      if (round >= input.tuning.roundsPerExecution) {
        // Keeps the history small: the next execution starts from the counts alone.
        context.df.continueAsNew({ ...input, progress });
        return undefined;
      }
      const depths: QueueDepths = yield context.df.callActivityWithRetry(ActivityNames.queueDepths, retry, runRef);
      const plan = planRound(depths, input.tuning);
      if (plan.drained) {
        if (progress.phase === 'drain') {
          const planned: PlanImportResult = yield context.df.callActivityWithRetry(ActivityNames.planImport, retry, runRef);
          progress.mailboxes += planned.mailboxes;
          progress.units += planned.units;
          progress.phase = 'import';
          if (!context.df.isReplaying) context.log(`run ${input.runId}: import planned for ${planned.units} unit(s) in ${planned.mailboxes} mailbox(es)`);
        } else progress.phase = 'finish';
      } else if (plan.calls.length === 0) {
        // Only leased messages are left: wait for their activities or their leases to end.
        const wakeAt = new Date(context.df.currentUtcDateTime.getTime() + input.tuning.pollIntervalInSeconds * 1000);
        yield context.df.createTimer(wakeAt);
      } else {
        const results: StageBatchResult[] = yield context.df.Task.all(
          plan.calls.map((call) => context.df.callActivityWithRetry(call.activity, retry, runRef)),
        );
        addRound(progress, plan.calls, results);
      }
      context.df.setCustomStatus(customStatus(input, progress, depths));
    }
    const finished: FinishRunResult = yield context.df.callActivityWithRetry(ActivityNames.finishRun, retry, {
      runId: input.runId,
      finishedAt: context.df.currentUtcDateTime.toISOString(),
    });
    if (!context.df.isReplaying) context.log(`run ${input.runId}: ${finished.status} ${JSON.stringify(finished.counts)}`);
    return toOutput(finished);
  } catch (e) {
    // An activity failed past its retry policy: the run is failed, and the report says why.
    const finished: FinishRunResult = yield context.df.callActivityWithRetry(ActivityNames.finishRun, retry, {
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
