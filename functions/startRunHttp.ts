import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { handle, startRun } from '../shared/http/handlers';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { HttpRoutes, TriggerNames } from '../shared/platform/names';

/** POST /api/runs {"from","to"}: starts a run of that window (202 with status URLs; 409 while it runs; 400 for a bad body). */
export async function startRunHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handle(startRun, request, appHost(() => df.getClient(context)), activityLog(context));
}

app.http(TriggerNames.startRunHttp, {
  route: HttpRoutes.runs,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: startRunHttp,
});
