/**
 * MIME in and out of the emulated mailbox: `/$value` of a message created as
 * JSON is rendered the way Exchange converts an item to MIME (addresses,
 * subject, Message-ID, Date, the custom x- headers, body, attachments), and
 * MIME given to `importMime` (beta) or to a MIME create is parsed into the
 * message's properties.
 */
import { simpleParser, type AddressObject } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { EmailAddressJson, StoredMessage } from './types';

function address(e: EmailAddressJson | null | undefined): { name: string; address: string } | undefined {
  if (!e?.emailAddress?.address) return undefined;
  return { name: e.emailAddress.name ?? '', address: e.emailAddress.address };
}

function addresses(list: EmailAddressJson[]): { name: string; address: string }[] {
  return list.map(address).filter((a): a is { name: string; address: string } => !!a);
}

/** The MIME Graph returns for `GET …/messages/{id}/$value`. */
export async function renderMime(message: StoredMessage): Promise<Buffer> {
  if (message.mimeBase64) return Buffer.from(message.mimeBase64, 'base64');
  const composer = new MailComposer({
    from: address(message.from),
    sender: address(message.sender),
    to: addresses(message.toRecipients),
    cc: addresses(message.ccRecipients),
    subject: message.subject,
    messageId: message.internetMessageId ?? undefined,
    date: new Date(message.sentDateTime),
    headers: message.internetMessageHeaders.map((h) => ({ key: h.name, value: h.value })),
    text: message.body.contentType === 'text' ? message.body.content : undefined,
    html: message.body.contentType === 'html' ? message.body.content : undefined,
    attachments: message.attachments.map((a) => ({
      filename: a.name,
      content: Buffer.from(a.contentBase64, 'base64'),
      contentType: a.contentType,
      cid: a.isInline && a.contentId ? a.contentId : undefined,
    })),
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return new Promise<Buffer>((resolve, reject) => {
    composer.compile().build((err, out) => (err ? reject(err) : resolve(out)));
  });
}

/** A message parsed from MIME: the fields it shares with a stored message, plus what only MIME has. */
export interface ParsedMime
  extends Pick<
    StoredMessage,
    'subject' | 'from' | 'sender' | 'toRecipients' | 'ccRecipients' | 'bccRecipients' | 'replyTo' | 'internetMessageId' | 'body'
  > {
  date: string | null;
  headers: { name: string; value: string }[];
  attachments: { name: string; contentType: string; content: Buffer; isInline: boolean; contentId: string | null }[];
}

function toJson(obj: AddressObject | AddressObject[] | undefined): EmailAddressJson[] {
  const list = Array.isArray(obj) ? obj : obj ? [obj] : [];
  const out: EmailAddressJson[] = [];
  for (const group of list) {
    for (const a of group.value) {
      if (a.address) out.push({ emailAddress: { name: a.name || a.address, address: a.address } });
      for (const g of a.group ?? []) if (g.address) out.push({ emailAddress: { name: g.name || g.address, address: g.address } });
    }
  }
  return out;
}

/** Parses raw MIME into the properties a message created from it has. */
export async function parseMime(raw: Buffer): Promise<ParsedMime> {
  const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
  const headers: { name: string; value: string }[] = [];
  for (const line of parsed.headerLines) {
    const colon = line.line.indexOf(':');
    if (colon > 0) headers.push({ name: line.line.slice(0, colon).trim(), value: line.line.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ').trim() });
  }
  const from = toJson(parsed.from)[0] ?? null;
  return {
    subject: parsed.subject ?? '',
    from,
    sender: from,
    toRecipients: toJson(parsed.to),
    ccRecipients: toJson(parsed.cc),
    bccRecipients: toJson(parsed.bcc),
    replyTo: toJson(parsed.replyTo),
    internetMessageId: parsed.messageId ?? null,
    date: parsed.date ? parsed.date.toISOString() : null,
    headers,
    body: parsed.html ? { contentType: 'html', content: parsed.html } : { contentType: 'text', content: parsed.text ?? '' },
    attachments: parsed.attachments.map((a) => ({
      name: a.filename ?? 'attachment',
      contentType: a.contentType,
      content: a.content,
      isInline: a.contentDisposition === 'inline' && !!a.contentId,
      contentId: a.contentId ? a.contentId.replace(/^<|>$/g, '') : null,
    })),
  };
}
