import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/names';
import { activities } from '../shared/dependencies';
import { activityLog } from '../shared/logging';
import type { RunRef, StageBatchResult } from '../shared/activities';

/** Imports the next units of one mailbox through Microsoft Graph. */
export async function importMailboxActivity(input: RunRef, context: InvocationContext): Promise<StageBatchResult> {
  return activities(activityLog(context)).importMailbox(input);
}

df.app.activity(ActivityNames.importMailbox, { handler: importMailboxActivity });
