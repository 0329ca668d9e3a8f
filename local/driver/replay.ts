/**
 * The seam to durable-functions' own replay: history in, orchestrator state
 * out. It leans on the library's wire format (history event types, action
 * types, the out-of-process error envelope), so durable-functions is pinned
 * to an exact version and test/driver/replayContract.test.ts fails loudly if
 * an upgrade changes any of it.
 */
import * as df from 'durable-functions';
import type { HistoryEvent } from './instanceStore';

/** History event types of durable-functions 3.5.0 (`history/HistoryEventType.js`). */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
} as const;

/** Action types of durable-functions 3.5.0 (`actions/ActionType.js`). */
export const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  WhenAny: 11,
  WhenAll: 12,
} as const;

/** The replay schema the driver speaks: V2, where compound actions nest. */
export const UPPER_SCHEMA_VERSION = 1;

export interface RetryOptionsAction {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
}

export interface OrchestratorAction {
  actionType: number;
  functionName?: string;
  input?: unknown;
  retryOptions?: RetryOptionsAction;
  fireAt?: Date | string;
  /** A sub-orchestration's instance id. */
  instanceId?: string;
  compoundActions?: OrchestratorAction[];
}

export interface ReplayResult {
  isDone: boolean;
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  /** Every action since the start, compound actions flattened depth-first. */
  actions: OrchestratorAction[];
}

type OrchestrationHandler = (trigger: unknown, context: unknown) => Promise<Record<string, unknown>>;

/** Replays `history` through the registered orchestrator handler and returns its state. */
export async function replay(
  handler: OrchestrationHandler,
  name: string,
  instanceId: string,
  input: unknown,
  history: readonly HistoryEvent[],
): Promise<ReplayResult> {
  // The library turns every `Timestamp` string into a Date in place: give it a copy.
  const trigger = JSON.parse(
    JSON.stringify({
      history,
      input,
      instanceId,
      isReplaying: false,
      parentInstanceId: '',
      upperSchemaVersion: UPPER_SCHEMA_VERSION,
      longRunningTimerIntervalDuration: '3.00:00:00',
      maximumShortTimerDuration: '6.00:00:00',
      defaultHttpAsyncRequestSleepTimeMillseconds: 30000,
    }),
  );
  const context = new df.DummyOrchestrationContext(name, undefined, () => undefined);
  let state: Record<string, unknown>;
  try {
    state = await handler(trigger, context);
  } catch (e) {
    state = parseFailure(e);
  }
  const actions = (state.actions as OrchestratorAction[][] | undefined) ?? [];
  return {
    isDone: Boolean(state.isDone),
    output: state.output,
    error: typeof state.error === 'string' ? state.error : undefined,
    customStatus: state.customStatus,
    actions: flatten(actions.flat()),
  };
}

/** An orchestration failure carries its state after `$OutOfProcData$:` in the message. */
function parseFailure(e: unknown): Record<string, unknown> {
  const message = e instanceof Error ? e.message : String(e);
  const marker = '$OutOfProcData$:';
  const at = message.indexOf(marker);
  if (at < 0) throw e;
  const state = JSON.parse(message.slice(at + marker.length)) as Record<string, unknown>;
  return { ...state, isDone: false, error: state.error ?? 'orchestrator failed' };
}

function flatten(actions: OrchestratorAction[]): OrchestratorAction[] {
  const out: OrchestratorAction[] = [];
  for (const action of actions) {
    if (action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny) {
      out.push(...flatten(action.compoundActions ?? []));
    } else out.push(action);
  }
  return out;
}

/** What must stay the same across replays for the orchestration to be deterministic. */
export function actionSignature(action: OrchestratorAction): string {
  const fireAt = action.fireAt === undefined ? undefined : new Date(action.fireAt).toISOString();
  return JSON.stringify([action.actionType, action.functionName ?? null, action.input ?? null, action.retryOptions ?? null, fireAt ?? null, action.instanceId ?? null]);
}
