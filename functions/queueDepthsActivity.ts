import * as df from 'durable-functions';
import type { InvocationContext } from '@azure/functions';
import { ActivityNames } from '../shared/platform/names';
import { activities } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import type { QueueDepths, QueueDepthsInput } from '../shared/activities';

/** Reports how much of the run's work waits in each of its stage queues. */
export async function queueDepthsActivity(input: QueueDepthsInput, context: InvocationContext): Promise<Partial<QueueDepths>> {
  return activities(activityLog(context)).queueDepths(input);
}

df.app.activity(ActivityNames.queueDepths, { handler: queueDepthsActivity });
