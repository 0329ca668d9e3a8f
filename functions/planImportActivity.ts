import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/platform/names';
import { activities } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import type { RunRef, PlanImportResult } from '../shared/activities';

/** Groups the run's import units by mailbox into one import chain each. */
export async function planImportActivity(input: RunRef, context: InvocationContext): Promise<PlanImportResult> {
  return activities(activityLog(context)).planImport(input);
}

df.app.activity(ActivityNames.planImport, { handler: planImportActivity });
