/**
 * Logs through the Functions logger (Application Insights in Azure). Never
 * message text or secrets; phone numbers are masked where they are logged.
 */
/** Where an activity (or any domain module) logs: three levels, plain lines. */
export interface ActivityLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** The subset of InvocationContext that logging needs (kept structural: shared/ does not import the runtime). */
export interface ContextLogger {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** An activity log that writes to the invocation's logger. */
export function activityLog(context: ContextLogger): ActivityLog {
  return {
    info: (message) => context.log(message),
    warn: (message) => context.warn(message),
    error: (message) => context.error(message),
  };
}

/**
 * The structured log lines that the alert rules of infra/main.bicep query
 * (Log Analytics, table AppTraces): one line `<event> <JSON>` each. They hold
 * run ids, statuses, counts and times only: never message text, secrets or
 * phone numbers.
 */
export const LogEvents = {
  /** A run finished: `{runId, trigger, status, window, finishedAt, counts}` (finishRun). */
  runFinished: 'o2.run',
  /** The re-drive backlog: `{total, unmapped, failed, oldestSince, oldestAgeHours}` (housekeeping). */
  backlog: 'o2.backlog',
  /** Messages waiting in the poison queues: `{total, queues: {name: count}}` (finishRun, housekeeping). */
  poison: 'o2.poison',
  /** Durable history purged: `{olderThan, instancesDeleted}` (housekeeping). */
  historyPurged: 'o2.history-purged',
  /** A finished run's blobs marked for the lifecycle rule: `{runId, items, blobs}` or `{runId, error}` (finishRun). */
  retention: 'o2.retention',
} as const;

export type LogEventName = (typeof LogEvents)[keyof typeof LogEvents];

type EventValue = string | number | boolean | null | { [key: string]: EventValue };

/** One structured line: the event name, a space, and its fields as JSON. */
export function eventLine(event: LogEventName, fields: Record<string, EventValue>): string {
  return `${event} ${JSON.stringify(fields)}`;
}

/** Reads a structured line back (tests, and whoever reads logs): the fields, or undefined when `line` is not that event. */
export function parseEventLine(event: LogEventName, line: string): Record<string, unknown> | undefined {
  if (!line.startsWith(`${event} {`)) return undefined;
  return JSON.parse(line.slice(event.length + 1)) as Record<string, unknown>;
}
