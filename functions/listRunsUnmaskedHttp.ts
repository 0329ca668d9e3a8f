import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { handle, listRunsUnmasked } from '../shared/http/handlers';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { HttpRoutes, TriggerNames } from '../shared/platform/names';

/** GET /api/unmasked/runs: recent runs, the re-drive backlog and the watermark, phone numbers in full; admin key only. */
export async function listRunsUnmaskedHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handle(listRunsUnmasked, request, appHost(() => df.getClient(context)), activityLog(context));
}

app.http(TriggerNames.listRunsUnmaskedHttp, {
  route: HttpRoutes.unmaskedRuns,
  methods: ['GET'],
  authLevel: 'admin',
  extraInputs: [df.input.durableClient()],
  handler: listRunsUnmaskedHttp,
});
