import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/platform/names';
import { activities } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import type { BeginRunInput, BeginRunResult } from '../shared/activities';

/** Creates the run record and queues one fetch message per slice of the window. */
export async function beginRunActivity(input: BeginRunInput, context: InvocationContext): Promise<BeginRunResult> {
  return activities(activityLog(context)).beginRun(input);
}

df.app.activity(ActivityNames.beginRun, { handler: beginRunActivity });
