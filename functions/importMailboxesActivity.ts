import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/platform/names';
import { activities } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import type { RunRef, StageBatchResult } from '../shared/activities';

/** Imports the next units of several mailboxes of the run through Microsoft Graph, each on its own chain. */
export async function importMailboxesActivity(input: RunRef, context: InvocationContext): Promise<StageBatchResult> {
  return activities(activityLog(context)).importMailboxes(input);
}

df.app.activity(ActivityNames.importMailboxes, { handler: importMailboxesActivity });
