import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/platform/names';
import { activities } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import type { RunRef, StageBatchResult } from '../shared/activities';

/** Reads slices of the window from TeleMessage into the staging queue. */
export async function fetchSlicesActivity(input: RunRef, context: InvocationContext): Promise<StageBatchResult> {
  return activities(activityLog(context)).fetchSlices(input);
}

df.app.activity(ActivityNames.fetchSlices, { handler: fetchSlicesActivity });
