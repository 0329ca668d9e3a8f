/**
 * The archived email as data (ArchivedEmail): every header value, body and
 * attachment the .eml holds, decided here once so that the .eml and the Graph
 * import can never disagree.
 */
import { itemKey, type StagedItem } from '../item';
import type { ArchivedEmail } from '../stages';
import { emailAddressFor } from './addresses';
import { attachmentsFor } from './attachments';
import { bodyForItem } from './body';
import { sanitizeHeaderText } from './header-text';
import { archiverHeadersFor, messageIdForItem, threadForItem } from './headers';
import type { ConvertOptions } from './options';
import { subjectForItem } from './subject';

/** The email an item becomes, as data (pure: the same item and options always give the same result). */
export function describeArchivedEmail(staged: StagedItem, options: Pick<ConvertOptions, 'displayTimeZone' | 'defaultRegion'>): ArchivedEmail {
  const { item } = staged;
  const instant = new Date(item.timestamp);
  if (Number.isNaN(instant.getTime())) throw new RangeError('the item timestamp is not an ISO 8601 instant');
  // Validation normalises to UTC already; an offset that slipped through still names the same instant.
  const normalised = { ...item, timestamp: instant.toISOString() };
  const attachments = attachmentsFor(normalised);
  const body = bodyForItem(normalised, attachments, options);
  const thread = threadForItem(normalised, options.defaultRegion);
  return {
    itemId: item.id,
    itemKey: itemKey(item.id),
    itemType: item.type,
    messageId: messageIdForItem(item.id),
    date: normalised.timestamp,
    subject: sanitizeHeaderText(subjectForItem(normalised, options.defaultRegion)),
    from: emailAddressFor(item.from, options.defaultRegion),
    to: item.to.map((p) => emailAddressFor(p, options.defaultRegion)),
    text: body.text,
    ...(body.html === undefined ? {} : { html: body.html }),
    archiverHeaders: archiverHeadersFor(staged),
    references: thread.references,
    threadTopic: thread.threadTopic,
    attachments,
  };
}
