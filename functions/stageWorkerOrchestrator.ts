/**
 * A stage worker: calls its stage's activity over and over, the next the
 * moment the last returns, until no message waits or is leased in its stage
 * or any stage before it (no more work can reach it); then returns its counts.
 * An idle worker waits on a durable timer before it looks again. It
 * continues as new every `callsPerExecution` calls, so its history stays small.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { OrchestratorNames } from '../shared/platform/names';
import { activityCaller, activityRetryOptions, StageActivities } from '../shared/activities/calls';
import { addResult, emptyTotals, workerDone, workerStatus, type StageWorkerInput } from '../shared/run/orchestration';

const retry = activityRetryOptions(df.RetryOptions);

export const stageWorkerOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = context.df.getInput() as StageWorkerInput;
  let totals = input.totals ?? emptyTotals();
  const watched = [...input.upstream, input.stage];
  const call = activityCaller(context, retry);
  for (let calls = 0; calls < input.callsPerExecution; calls++) {
    const result = yield* call(StageActivities[input.stage], { runId: input.runId });
    totals = addResult(totals, result);
    context.df.setCustomStatus(workerStatus(input, totals));
    if (result.taken > 0) continue;
    // Nothing to take just now: done once nothing waits or is leased upstream either, else look again in a while.
    const depths = yield* call('queueDepths', { runId: input.runId, stages: watched });
    if (workerDone(depths, watched)) return totals;
    yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + input.pollIntervalInSeconds * 1000));
  }
  context.df.continueAsNew({ ...input, totals });
  return undefined;
};

df.app.orchestration(OrchestratorNames.stageWorker, stageWorkerOrchestrator);
