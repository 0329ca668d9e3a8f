import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/platform/names';
import { activities } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import type { RunRef, StageBatchResult } from '../shared/activities';

/** Converts staged items to emails under the size rule. */
export async function convertItemsActivity(input: RunRef, context: InvocationContext): Promise<StageBatchResult> {
  return activities(activityLog(context)).convertItems(input);
}

df.app.activity(ActivityNames.convertItems, { handler: convertItemsActivity });
