import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/platform/names';
import { activities } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import type { RunRef, StageBatchResult } from '../shared/activities';

/** Routes converted items to Microsoft 365 mailboxes. */
export async function mapItemsActivity(input: RunRef, context: InvocationContext): Promise<StageBatchResult> {
  return activities(activityLog(context)).mapItems(input);
}

df.app.activity(ActivityNames.mapItems, { handler: mapItemsActivity });
