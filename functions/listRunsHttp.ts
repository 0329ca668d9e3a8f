import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { handle, listRuns } from '../shared/http/handlers';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { HttpRoutes, TriggerNames } from '../shared/platform/names';

/** GET /api/runs: recent runs with their counts, the re-drive backlog and the watermark. */
export async function listRunsHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handle(listRuns, request, appHost(() => df.getClient(context)), activityLog(context));
}

app.http(TriggerNames.listRunsHttp, {
  route: HttpRoutes.runs,
  methods: ['GET'],
  authLevel: 'function',
  extraInputs: [df.input.durableClient()],
  handler: listRunsHttp,
});
