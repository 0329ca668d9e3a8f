import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { handle, dashboard } from '../shared/http/handlers';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { HttpRoutes, TriggerNames } from '../shared/platform/names';

/** GET /api/dashboard: the dashboard page, phone numbers masked (in full only at /api/unmasked/dashboard, admin key). */
export async function dashboardHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  // Starts no run, so it has no Durable client binding and the host never asks for one.
  return handle(dashboard, request, appHost(() => df.getClient(context)), activityLog(context));
}

app.http(TriggerNames.dashboardHttp, {
  route: HttpRoutes.dashboard,
  methods: ['GET'],
  authLevel: 'function',
  handler: dashboardHttp,
});
