/**
 * Typed activity calls: a name fixes the input and the result (the compiler
 * refuses a wrong input), and the call schedules the activity under its
 * registered name and the retry policy, handing back what the runtime sends.
 */
import { ActivityNames } from '../../shared/platform/names';
import { activityCaller, activityRetry, activityRetryOptions, StageActivities } from '../../shared/activities/calls';

class FakeRetryOptions {
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  constructor(readonly firstRetryIntervalInMilliseconds: number, readonly maxNumberOfAttempts: number) {}
}

describe('typed activity calls', () => {
  it('schedules the activity by its registered name with the retry policy, and returns what the runtime hands back', () => {
    const scheduled: { name: string; retry: FakeRetryOptions; input?: unknown }[] = [];
    const retry = activityRetryOptions(FakeRetryOptions);
    const call = activityCaller({ df: { callActivityWithRetry: (name: string, r: FakeRetryOptions, input?: unknown) => (scheduled.push({ name, retry: r, input }), `task-${name}`) } }, retry);
    const calling = call('planImport', { runId: 'r1' });
    expect(calling.next()).toEqual({ value: `task-${ActivityNames.planImport}`, done: false });
    expect(calling.next({ mailboxes: 3 })).toEqual({ value: { mailboxes: 3 }, done: true });
    expect(scheduled).toEqual([{ name: 'planImportActivity', retry, input: { runId: 'r1' } }]);
    expect(retry).toEqual({ ...activityRetry });
  });

  it('names an activity for every stage, and the compiler holds each call to its input', () => {
    expect(Object.values(StageActivities).map((name) => ActivityNames[name])).toEqual([
      'fetchSlicesActivity', 'stageItemsActivity', 'convertItemsActivity', 'mapItemsActivity', 'importMailboxesActivity',
    ]);
    const call = activityCaller({ df: { callActivityWithRetry: () => 'task' } }, undefined);
    // @ts-expect-error finishRun needs finishedAt
    call('finishRun', { runId: 'r1' });
    // @ts-expect-error no such activity
    call('sendEverything', { runId: 'r1' });
  });
});
