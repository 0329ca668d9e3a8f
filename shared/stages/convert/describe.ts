/**
 * The archived email as data (ArchivedEmail): every header value, body and
 * attachment the .eml holds, decided here once so that the .eml and the Graph
 * import can never disagree.
 */
import type { StagedItem } from '../../model/item';
import type { ArchivedEmail } from '../../model/stages';
import { emailAddressOf, viewParticipant } from './addresses';
import { attachmentsFor } from './attachments';
import { bodyOf } from './body';
import { sanitizeHeaderText } from './header-text';
import { archiverHeadersFor, itemKeyOf, messageIdForItemKey, threadOf } from './headers';
import type { ConvertOptions } from './options';
import { subjectOf } from './subject';
import { utcTimestamp } from './time';

/** The email an item becomes, as data (pure: the same item and options always give the same result). */
export function describeArchivedEmail(staged: StagedItem, options: Pick<ConvertOptions, 'displayTimeZone' | 'defaultRegion'>): ArchivedEmail {
  const { item } = staged;
  // Validation normalises to UTC already; an offset that slipped through still names the same instant.
  const normalised = { ...item, timestamp: utcTimestamp(item.timestamp) };
  const from = viewParticipant(item.from, options.defaultRegion);
  const to = item.to.map((p) => viewParticipant(p, options.defaultRegion));
  const attachments = attachmentsFor(normalised);
  const body = bodyOf(normalised, from, to, attachments, options);
  const thread = threadOf(normalised, [from, ...to]);
  const key = itemKeyOf(item.id);
  return {
    itemId: item.id,
    itemKey: key,
    itemType: item.type,
    messageId: messageIdForItemKey(key),
    date: normalised.timestamp,
    subject: sanitizeHeaderText(subjectOf(normalised, from, to)),
    from: emailAddressOf(from),
    to: to.map(emailAddressOf),
    text: body.text,
    ...(body.html === undefined ? {} : { html: body.html }),
    archiverHeaders: archiverHeadersFor(staged),
    references: thread.references,
    threadTopic: thread.threadTopic,
    attachments,
  };
}
