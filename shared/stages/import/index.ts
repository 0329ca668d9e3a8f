/** Importing units into mailboxes, exactly once: the importer, the message JSON, the pacing. */
export { createMailboxImporter, hasAllAttachments } from './importer';
export type { MailboxImporterDeps, MailboxImporterOptions, ImportStaging, ImportLogEvent } from './importer';
export {
  buildMessage,
  planAttachments,
  splitArchiverHeaders,
  messageBody,
  toSecond,
  namedStringProperty,
  fileAttachmentJsonBytes,
  ITEM_ID_PROPERTY,
  O2_PROPERTY_SET,
  MAX_REQUEST_BYTES,
} from './message';
export type { GraphMessage, MissingAttachment, AttachmentRoute } from './message';
export { createMailboxGate } from './pacing';
export type { MailboxGate, MailboxGateOptions } from './pacing';
