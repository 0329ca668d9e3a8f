/**
 * Item → email (archived-email.md): the size rule, the ArchivedEmail model,
 * and the streamed .eml composed by nodemailer.
 */
import type { MediaOpener, StagedItem } from '../../model/item';
import type { ConvertResult } from '../../model/stages';
import { describeError } from '../../model/errors';
import { composeEml } from './compose';
import { describeArchivedEmail } from './describe';
import type { ConvertOptions } from './options';
import { checkItemSize } from './size';

export type { ConvertOptions } from './options';
export { describeArchivedEmail } from './describe';
export { composeEml, type ComposeOptions } from './compose';
export { checkItemSize, stagedSizeInBytes } from './size';
export { formatDuration, recipientsLabel, subjectForItem } from './subject';
export {
  emailAddressFor,
  participantAddress,
  participantDisplayName,
  participantE164,
  participantKey,
  participantLabel,
  participantName,
} from './addresses';
export { sanitizeHeaderText, prepareHeaderText } from './header-text';
export { ArchiverHeader, MESSAGE_ID_DOMAIN, THREAD_TOPIC_HEADER, archiverHeadersFor, messageIdForItem, threadForItem } from './headers';
export { bodyForItem, callSummary, escapeHtml } from './body';
export { attachmentsFor, extensionForContentType, safeContentType, safeFileName, verifiedMediaStream } from './attachments';

/**
 * Converts a staged item to its email: `too-large` above `maxItemBytes`,
 * else the ArchivedEmail and the .eml as a stream (attachments are read from
 * `openMedia` while the stream is consumed, and a media file that is not what
 * its descriptor says fails the stream with MEDIA_CHECKSUM_MISMATCH); anything
 * unexpected is `conversion-error`.
 */
export async function convertItem(staged: StagedItem, openMedia: MediaOpener, options: ConvertOptions): Promise<ConvertResult> {
  const tooLarge = checkItemSize(staged, options.maxItemBytes);
  if (tooLarge) return tooLarge;
  try {
    const email = describeArchivedEmail(staged, options);
    const eml = composeEml(email, openMedia, { baseBoundary: options.baseBoundary });
    return { ok: true, email, eml };
  } catch (e) {
    return { ok: false, reason: 'conversion-error', detail: describeError(e) };
  }
}
