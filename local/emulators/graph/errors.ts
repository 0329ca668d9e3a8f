/**
 * Graph's error response, as "Microsoft Graph error responses and resource
 * types" documents it: `{"error":{"code","message","innerError":{"date",
 * "request-id","client-request-id"}}}` with a standard HTTP status.
 */

/** A failure a handler raises; the server renders it in Graph's error shape. */
export class GraphHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'GraphHttpError';
  }
}

/** Builds the JSON body of a Graph error. */
export function graphErrorBody(code: string, message: string, requestId: string, clientRequestId?: string): Record<string, unknown> {
  const innerError: Record<string, string> = {
    date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
    'request-id': requestId,
  };
  if (clientRequestId) innerError['client-request-id'] = clientRequestId;
  return { error: { code, message, innerError } };
}

/** 404 for an item (message, folder, attachment) that is not in the mailbox, with Exchange's code. */
export function itemNotFound(): GraphHttpError {
  return new GraphHttpError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
}

/** 400 for a malformed query, with the code the Outlook request broker uses. */
export function badQuery(message: string): GraphHttpError {
  return new GraphHttpError(400, 'RequestBroker--ParseUri', message);
}

/** 400 for a malformed request body. */
export function badRequest(message: string, code = 'BadRequest'): GraphHttpError {
  return new GraphHttpError(400, code, message);
}
