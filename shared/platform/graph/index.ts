/** The Graph side of the connector: client, user directory, mailbox calls, access check. */
export { createGraphClient, splitGraphBaseUrl, parseNextExpected } from './client';
export type { GraphClient, GraphClientOptions, GraphCallOptions, RequestGate, CredentialKind, UploadRangeResult, UploadSessionStatus, UploadSessionOutcome } from './client';
export { createGraphDirectory, userAddressFilter, BATCH_LIMIT } from './directory';
export type { GraphDirectoryOptions } from './directory';
export { createFolderResolver, findMessagesByProperty, createMessage, permanentlyDeleteMessage, postAttachment, createUploadSession, attachLargeFile, listAttachments, countMatching } from './mailbox';
export { UPLOAD_CHUNK_BYTES } from './client';
export type { FolderResolver, FoundMessage, ListedAttachment } from './mailbox';
export { GraphRequestError, isGraphRequestError, classifyGraphError, toGraphRequestError } from './errors';
export { checkGraph } from './check';
export type { CheckGraphOptions } from './check';
