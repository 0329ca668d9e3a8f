import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { runHousekeeping, type HousekeepingResult } from '../shared/run/housekeeping';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { TriggerNames } from '../shared/platform/names';

/**
 * The daily housekeeping (HOUSEKEEPING_SCHEDULE, UTC): purges the Durable
 * history of runs finished more than HISTORY_RETENTION_DAYS ago, and logs the
 * re-drive backlog and the poison queues for the alert rules.
 */
export async function housekeepingTimer(_timer: Timer, context: InvocationContext): Promise<HousekeepingResult> {
  const host = appHost(() => df.getClient(context));
  return runHousekeeping({
    now: host.now(),
    historyRetentionDays: host.settings.HISTORY_RETENTION_DAYS,
    history: host.history,
    runs: host.runs,
    poisonDepths: () => host.poisonDepths(),
    log: activityLog(context),
  });
}

app.timer(TriggerNames.housekeepingTimer, {
  schedule: '%HOUSEKEEPING_SCHEDULE%',
  extraInputs: [df.input.durableClient()],
  handler: housekeepingTimer,
});
