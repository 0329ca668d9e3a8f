import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/names';
import { activities } from '../shared/dependencies';
import { activityLog } from '../shared/logging';
import type { RunRef, QueueDepths } from '../shared/activities';

/** Reports how much work waits in each stage queue. */
export async function queueDepthsActivity(_input: RunRef, context: InvocationContext): Promise<QueueDepths> {
  return activities(activityLog(context)).queueDepths();
}

df.app.activity(ActivityNames.queueDepths, { handler: queueDepthsActivity });
