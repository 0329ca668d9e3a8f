/**
 * Activity calls typed end to end, as Temporal's `proxyActivities<typeof
 * activities>`: the name of an activity in the activities map fixes the input
 * its call takes and the result it gives back, so no orchestrator annotates a
 * result by hand and no call can pass the wrong input. The orchestrators load
 * this module: names and a generator only, no clock, no randomness, no I/O
 * (the activities map is imported as a type, and erased).
 */
import type { Activities } from './index';
import { ActivityNames, type StageName } from '../platform/names';

/** The name of an activity in the activities map (the key of `ActivityNames` it is registered under). */
export type ActivityName = keyof Activities;
/** What the activity `N` takes. */
export type ActivityInput<N extends ActivityName> = Parameters<Activities[N]>[0];
/** What the activity `N` gives back. */
export type ActivityResult<N extends ActivityName> = Awaited<ReturnType<Activities[N]>>;

// Every activity of the map has a registered name, and every registered name is an activity of the map.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const everyActivityIsNamed: Same<ActivityName, keyof typeof ActivityNames> = true;

/** The activity that does each stage's work. */
export const StageActivities = {
  fetch: 'fetchSlices',
  stage: 'stageItems',
  convert: 'convertItems',
  map: 'mapItems',
  import: 'importMailboxes',
} as const satisfies Record<StageName, ActivityName>;

/** Retry policy of every activity call (durable-functions RetryOptions fields). */
export const activityRetry = {
  firstRetryIntervalInMilliseconds: 2000,
  maxNumberOfAttempts: 5,
  backoffCoefficient: 2,
  maxRetryIntervalInMilliseconds: 60_000,
} as const;

/** `activityRetry` as the runtime's retry options (its `RetryOptions` class is passed in: shared/ does not import durable-functions). */
export function activityRetryOptions<R extends object>(RetryOptions: new (firstRetryIntervalInMilliseconds: number, maxNumberOfAttempts: number) => R): R {
  return Object.assign(new RetryOptions(activityRetry.firstRetryIntervalInMilliseconds, activityRetry.maxNumberOfAttempts), {
    backoffCoefficient: activityRetry.backoffCoefficient,
    maxRetryIntervalInMilliseconds: activityRetry.maxRetryIntervalInMilliseconds,
  });
}

/** The part of durable-functions' orchestration context a call needs (structural: shared/ does not import the runtime). */
export interface ActivityScheduler<Retry, Task> {
  df: { callActivityWithRetry(name: string, retryOptions: Retry, input?: unknown): Task };
}

/**
 * Typed activity calls of one orchestration, under one retry policy: `yield*
 * call('beginRun', input)` schedules the activity by its registered name and
 * gives back its result as the activities map types it.
 */
export function activityCaller<Retry, Task>(context: ActivityScheduler<Retry, Task>, retry: Retry) {
  return function* call<N extends ActivityName>(name: N, input: ActivityInput<N>): Generator<Task, ActivityResult<N>, unknown> {
    // The runtime hands the activity's output back as `unknown`; the map says what it is.
    return (yield context.df.callActivityWithRetry(ActivityNames[name], retry, input)) as ActivityResult<N>;
  };
}
