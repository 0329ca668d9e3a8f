import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { handle, redriveRun } from '../shared/http/handlers';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { HttpRoutes, TriggerNames } from '../shared/platform/names';

/** POST /api/runs/{runId}/redrive: imports that run's unmapped and failed items again (202; 400 for an unknown run). */
export async function redriveHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handle(redriveRun, request, appHost(() => df.getClient(context)), activityLog(context));
}

app.http(TriggerNames.redriveHttp, {
  route: HttpRoutes.redrive,
  methods: ['POST'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: redriveHttp,
});
