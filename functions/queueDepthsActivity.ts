import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames, type StageName } from '../shared/names';
import { activities } from '../shared/dependencies';
import { activityLog } from '../shared/logging';
import type { RunRef, QueueDepths } from '../shared/activities';

/** Reports how much of the run's work waits in each of its stage queues. */
export async function queueDepthsActivity(input: RunRef & { stages?: StageName[] }, context: InvocationContext): Promise<Partial<QueueDepths>> {
  return activities(activityLog(context)).queueDepths(input);
}

df.app.activity(ActivityNames.queueDepths, { handler: queueDepthsActivity });
