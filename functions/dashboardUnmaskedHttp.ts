import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { handle, dashboardUnmasked } from '../shared/http/handlers';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { HttpRoutes, TriggerNames } from '../shared/platform/names';

/** GET /api/unmasked/dashboard: the dashboard page with phone numbers in full; admin key only. */
export async function dashboardUnmaskedHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  // Starts no run, so it has no Durable client binding and the host never asks for one.
  return handle(dashboardUnmasked, request, appHost(() => df.getClient(context)), activityLog(context));
}

app.http(TriggerNames.dashboardUnmaskedHttp, {
  route: HttpRoutes.unmaskedDashboard,
  methods: ['GET'],
  authLevel: 'admin',
  handler: dashboardUnmaskedHttp,
});
