/**
 * Logs through the Functions logger (Application Insights in Azure). Never
 * message text or secrets; phone numbers are masked where they are logged.
 */
import type { ActivityLog } from './activities';

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
