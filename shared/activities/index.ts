/**
 * The stage activities: each takes a batch of claim checks from its stage
 * queue, does the stage's work through the stage modules, hands claim checks
 * to the next queue and records outcomes. They return counts, never items.
 * Dependencies come from one factory (as Temporal's `createActivities`), so
 * Azure, the local driver and tests run the same code against different clients.
 */
import { beginRun, finishRun, queueDepths } from './run';
import { fetchSlices } from './fetch';
import { stageItems } from './stage';
import { convertItems } from './convert';
import { mapItems } from './map';
import { importMailboxes, planImport } from './import';
import type { ActivityContext, ActivityDependencies, ActivityLog, BeginRunInput, FinishRunInput, QueueDepthsInput, RunRef, StageBatchResult } from './types';

export * from './types';
export { recordIdentity } from './batch';

const silent: ActivityLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Builds the activity implementations over the given dependencies. */
export function createActivities(deps: ActivityDependencies) {
  const context: ActivityContext = {
    deps,
    log: deps.log ?? silent,
    leaseRenewalInMs: (deps.settings.QUEUE_VISIBILITY_TIMEOUT_SECONDS * 1000) / 3,
  };
  /** Logs a stage activity's counts with the run that called it (never items, never text). */
  const counted = <R extends StageBatchResult>(stage: string, work: (c: ActivityContext, input: RunRef) => Promise<R>) => async (input: RunRef) => {
    const result = await work(context, input);
    if (result.taken > 0) {
      context.log.info(`run ${input.runId} stage ${stage}: taken ${result.taken}, done ${result.done}, poisoned ${result.poisoned}, sent ${result.sent}, items ${result.items}`);
    }
    return result;
  };
  return {
    beginRun: (input: BeginRunInput) => beginRun(context, input),
    queueDepths: (input: QueueDepthsInput) => queueDepths(context, input),
    fetchSlices: counted('fetch', fetchSlices),
    stageItems: counted('stage', stageItems),
    convertItems: counted('convert', convertItems),
    mapItems: counted('map', mapItems),
    planImport: (input: RunRef) => planImport(context, input),
    importMailboxes: counted('import', importMailboxes),
    finishRun: (input: FinishRunInput) => finishRun(context, input),
  };
}

export type Activities = ReturnType<typeof createActivities>;
