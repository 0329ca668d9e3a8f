import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { handle, putMapping } from '../shared/http/handlers';
import { appHost } from '../shared/app/root';
import { activityLog } from '../shared/platform/logging';
import { HttpRoutes, TriggerNames } from '../shared/platform/names';

/** PUT /api/mapping (text/csv): replaces the mapping in force once it validates; admin key only, since it decides whose mailbox sees whose messages. */
export async function mappingHttp(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  // Starts no run, so it has no Durable client binding and the host never asks for one.
  return handle(putMapping, request, appHost(() => df.getClient(context)), activityLog(context));
}

app.http(TriggerNames.mappingHttp, {
  route: HttpRoutes.mapping,
  methods: ['PUT'],
  authLevel: 'admin',
  handler: mappingHttp,
});
