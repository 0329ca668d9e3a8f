/** The Graph side of the connector: client, user directory, mailbox calls, access check. */
export { createGraphClient, splitGraphBaseUrl } from './client';
export type { GraphClient, GraphClientOptions, GraphCallOptions, RequestGate, CredentialKind, UploadRangeResult } from './client';
export { createGraphDirectory, userAddressFilter, BATCH_LIMIT } from './directory';
export type { GraphDirectoryOptions } from './directory';
export { createFolderResolver, findMessagesByProperty, createMessage, deleteMessage, postAttachment, createUploadSession, uploadInChunks, UPLOAD_CHUNK_BYTES } from './mailbox';
export type { FolderResolver, FoundMessage } from './mailbox';
export { GraphRequestError, isGraphRequestError, classifyGraphError, toGraphRequestError } from './errors';
export { checkGraph } from './check';
export type { CheckGraphOptions } from './check';
