import { app, type InvocationContext, type Timer } from '@azure/functions';
import * as df from 'durable-functions';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { TriggerNames } from '../shared/platform/names';
import { startScheduledRun, type ScheduledRunResult } from '../shared/run/runStart';

/**
 * The daily run (ARCHIVE_SCHEDULE, UTC): the window from the watermark to the
 * start of today, read again SETTLE_HOURS behind the watermark for late
 * arrivals; a window still running is left to its run.
 */
export async function archiveTimer(timer: Timer, context: InvocationContext): Promise<ScheduledRunResult> {
  const host = appHost(() => df.getClient(context));
  const log = activityLog(context);
  if (timer.isPastDue) log.warn('timer: past due; the window starts at the watermark, so nothing is skipped');
  return startScheduledRun({ now: host.now(), starter: host.starter, watermarks: host.watermarks, settleHours: host.settings.SETTLE_HOURS, maxWindowDays: host.settings.MAX_WINDOW_DAYS, log });
}

app.timer(TriggerNames.archiveTimer, {
  schedule: '%ARCHIVE_SCHEDULE%',
  extraInputs: [df.input.durableClient()],
  handler: archiveTimer,
});
