/**
 * Importing the .eml itself by Graph's beta importMime action (Outlook keeps
 * the MIME as it is), then setting the item-id named property, which the
 * .eml carries only as a header, by a PATCH. A request that would pass 4 MB
 * goes the JSON way instead.
 */
import { seg } from '../../platform/graph/mailbox';
import { createOnce, importJson, type Imported } from './json';
import { ITEM_ID_PROPERTY, MAX_REQUEST_BYTES } from './message';
import type { UnitWork } from './work';

/** Sets the item-id named property on a message imported from MIME, so that later look-ups find it by the property too. */
export async function markImported(work: UnitWork, messageId: string): Promise<void> {
  await work.graph.call(
    'mark imported message',
    (sdk) =>
      sdk
        .api(`/users/${seg(work.mailboxId)}/messages/${seg(messageId)}`)
        .patch({ singleValueExtendedProperties: [{ id: ITEM_ID_PROPERTY, value: work.email.itemId }] }),
    work.write,
  );
}

/** Imports the .eml by the beta importMime action; falls back to JSON when the request would pass 4 MB. */
export async function importMime(work: UnitWork): Promise<Imported> {
  // The .eml's size is known from conversion: one whose base64 would pass 4 MB is not read at all (a 10 MiB
  // .eml read whole, then as 13 MiB of base64 text, only to go the JSON way after all).
  const known = work.email.emlSizeInBytes;
  if (known !== undefined && 4 * Math.ceil(known / 3) >= MAX_REQUEST_BYTES) return importJson(work);
  const eml = await work.staging.readItemBlob(work.unit.itemKey, 'message.eml');
  const base64 = eml.toString('base64');
  if (Buffer.byteLength(base64) >= MAX_REQUEST_BYTES) return importJson(work);
  // Like a JSON create, an import whose answer was lost is looked up (by its Message-ID too) before it is sent again.
  const messageId = await createOnce(work, async () => {
    const answer = (await work.graph.call(
      'import MIME',
      (sdk) =>
        sdk
          .api(`/users/${seg(work.mailboxId)}/mailFolders/${seg(work.folderId)}/importMime`)
          .version('beta')
          .header('Content-Type', 'text/plain')
          .post(base64),
      { ...work.write, requestBytes: Buffer.byteLength(base64), idempotent: false },
    )) as { id: string };
    return answer.id;
  });
  work.created.messageId = messageId;
  await markImported(work, messageId);
  return { messageId, missing: [] };
}
