/**
 * The .eml of an archived email, composed by nodemailer's MailComposer and
 * streamed: attachments are read from their media streams as the message is
 * written, so a 10 MiB item never sits in memory as a whole message.
 */
import type { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { MediaOpener } from '../../model/item';
import type { ArchivedEmail } from '../../model/stages';
import { verifiedMediaStream } from './attachments';
import { prepareHeaderText } from './header-text';
import { headerSpelling, THREAD_TOPIC_HEADER } from './headers';

export interface ComposeOptions {
  /** Fixed shared part of the MIME boundaries (tests that compare exact output). */
  baseBoundary?: string;
}

/** Streams the RFC 5322 message of `email`, reading each attachment from `openMedia` only when it is written. */
export function composeEml(email: ArchivedEmail, openMedia: MediaOpener, options: ComposeOptions = {}): Readable {
  const headers = [
    { key: THREAD_TOPIC_HEADER, value: prepareHeaderText(email.threadTopic) },
    ...Object.entries(email.archiverHeaders).map(([key, value]) => ({ key, value: prepareHeaderText(value) })),
  ];
  const composer = new MailComposer({
    from: { ...email.from },
    to: email.to.map((a) => ({ ...a })),
    subject: prepareHeaderText(email.subject),
    messageId: email.messageId,
    date: new Date(email.date),
    references: email.references,
    headers,
    // base64 keeps the text byte for byte (quoted-printable would rewrite bare CR and LF)
    // and its 76-character lines keep every line far below 998 octets whatever the text.
    ...(email.text === '' ? {} : { text: { content: email.text, contentTransferEncoding: 'base64' } }),
    ...(email.html === undefined ? {} : { html: { content: email.html, contentTransferEncoding: 'base64' } }),
    attachments: email.attachments.map((a) => ({
      filename: a.fileName,
      contentType: a.contentType,
      contentDisposition: 'attachment',
      contentTransferEncoding: 'base64',
      content: verifiedMediaStream(openMedia, { id: a.mediaId, size: a.size, sha256: a.sha256 }),
    })),
    normalizeHeaderKey: headerSpelling,
    // Every byte comes from outside: no path or URL in the item may make nodemailer read one.
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(options.baseBoundary === undefined ? {} : { baseBoundary: options.baseBoundary }),
  });
  return composer.compile().createReadStream();
}
