import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { handle, getRunUnmasked } from '../shared/http/handlers';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { HttpRoutes, TriggerNames } from '../shared/platform/names';

/** GET /api/unmasked/runs/{runId}: the run's report (?format=csv: its failures CSV), phone numbers in full; admin key only. */
export async function getRunUnmaskedHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handle(getRunUnmasked, request, appHost(() => df.getClient(context)), activityLog(context));
}

app.http(TriggerNames.getRunUnmaskedHttp, {
  route: HttpRoutes.unmaskedRun,
  methods: ['GET'],
  authLevel: 'admin',
  extraInputs: [df.input.durableClient()],
  handler: getRunUnmaskedHttp,
});
