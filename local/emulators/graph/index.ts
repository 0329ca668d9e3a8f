/**
 * A strict Microsoft Graph emulator for the mail import: users, mail folders,
 * messages, attachments and upload sessions, JSON batching, Outlook's
 * per-mailbox throttling, seeded faults, and state that survives a restart.
 * See README.md beside this file for the behaviour it holds clients to.
 */
export { startGraphEmulator, type GraphEmulator, type RuntimeOptions } from './server';
export { GraphStore, ITEM_ID_PROPERTY, fileSafeName, objectIdFor } from './store';
export type {
  DeliveryTimeMode, EmulatorStats, ExtendedPropertyFilterMode, FailRule, GraphEmulatorOptions, GraphLimits, MailboxStats, MessageFlagsAtCreate,
  NonDraftAttachments, StoredAttachment, StoredFolder,
  StoredMessage, TenantUser, TenantUserInput,
} from './types';
