/**
 * A unit's copies in the archive folder: found by the O2ArchiverItemId named
 * property (and, for MIME imports, by the Message-ID, since the property is
 * set by a PATCH after the import), removed for good.
 *
 * Graph documents no read-after-write guarantee for $filter, so a look-up
 * that finds nothing is believed only once the settle period has passed
 * since the moment a copy could last have landed.
 */
import { findMessagesByInternetMessageId, findMessagesByProperty, permanentlyDeleteMessage, type FoundMessage } from '../../platform/graph/mailbox';
import type { ArchivedAttachment, ArchivedEmail } from '../../model/stages';
import { ITEM_ID_PROPERTY } from './message';
import type { UnitCalls, UnitWork } from './work';

/** The email's Message-ID as Graph stores internetMessageId: in angle brackets. */
export function internetMessageIdOf(email: Pick<ArchivedEmail, 'messageId'>): string {
  const id = email.messageId.trim();
  return id.startsWith('<') ? id : `<${id}>`;
}

/** True when `found` carries every attachment of the email (Graph reports sizes at least the file's). */
export function hasAllAttachments(found: FoundMessage, attachments: readonly ArchivedAttachment[]): boolean {
  const pool = [...found.attachments];
  for (const a of attachments) {
    const i = pool.findIndex((f) => f.name === a.fileName && f.size >= a.size);
    if (i < 0) return false;
    pool.splice(i, 1);
  }
  return true;
}

/** Waits until a look-up may be believed about a copy that landed no later than `landedBy` (ms since the epoch). */
export async function settleSince(work: UnitCalls, landedBy: number): Promise<void> {
  const wait = landedBy + work.settleInMs - Date.now();
  if (wait > 0) await work.sleep(wait);
}

/** The unit's copies in the archive folder (never Deleted Items, where a deleted copy still carries the item id). */
export async function findCopies(work: UnitWork): Promise<FoundMessage[]> {
  const found = await findMessagesByProperty(work.graph, work.mailboxId, work.folderId, ITEM_ID_PROPERTY, work.email.itemId, work.read);
  if (work.importMode === 'importMime') {
    // A MIME import that crashed before its PATCH has no named property yet: its Message-ID finds it.
    for (const m of await findMessagesByInternetMessageId(work.graph, work.mailboxId, work.folderId, internetMessageIdOf(work.email), work.read)) {
      if (!found.some((f) => f.id === m.id)) found.push(m);
    }
  }
  return found;
}

/**
 * Removes a copy for good. Under the claim by default (a worker that lost the
 * unit must not remove what the holder may keep); `work.read` only for a copy
 * nobody else will ever keep.
 */
export async function removeCopy(work: UnitCalls, messageId: string, call = work.write): Promise<void> {
  await permanentlyDeleteMessage(work.graph, work.mailboxId, messageId, call);
  if (work.created.messageId === messageId) work.created.messageId = undefined;
  work.log({ event: 'copy-removed', mailboxId: work.mailboxId, itemKey: work.unit.itemKey });
}
