import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { handle, getRun } from '../shared/http/handlers';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { HttpRoutes, TriggerNames } from '../shared/platform/names';

/** GET /api/runs/{runId}: the run's report, live while it runs (?format=csv: its failures CSV; 404 for an unknown run). */
export async function getRunHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handle(getRun, request, appHost(() => df.getClient(context)), activityLog(context));
}

app.http(TriggerNames.getRunHttp, {
  route: HttpRoutes.run,
  methods: ['GET'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: getRunHttp,
});
