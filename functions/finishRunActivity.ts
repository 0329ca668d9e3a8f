import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/platform/names';
import { activities } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import type { FinishRunInput, FinishRunResult } from '../shared/activities';

/** Writes the run report and closes the run. */
export async function finishRunActivity(input: FinishRunInput, context: InvocationContext): Promise<FinishRunResult> {
  return activities(activityLog(context)).finishRun(input);
}

df.app.activity(ActivityNames.finishRun, { handler: finishRunActivity });
