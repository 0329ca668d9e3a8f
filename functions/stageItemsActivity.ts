import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/platform/names';
import { activities } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import type { RunRef, StageBatchResult } from '../shared/activities';

/** Validates records and stages items and media in blob storage. */
export async function stageItemsActivity(input: RunRef, context: InvocationContext): Promise<StageBatchResult> {
  return activities(activityLog(context)).stageItems(input);
}

df.app.activity(ActivityNames.stageItems, { handler: stageItemsActivity });
