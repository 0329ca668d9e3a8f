/** Hostile and unusual input: header injection, huge words, path names, other scripts, offsets, wrong media bytes. */
import { Readable } from 'node:stream';
import libmime from 'libmime';
import { convertItem } from '../../shared/stages/convert';
import { isArchiverError } from '../../shared/model/errors';
import type { Item, MediaDescriptor } from '../../shared/model/item';
import type { ArchivedEmail } from '../../shared/model/stages';
import { inlineOpener, lines, OPTIONS, parse, rawHeaders, readAll, sha256, stage } from './support';

function sms(overrides: Partial<Item> = {}): Item {
  return {
    id: 'tm-hostile-1',
    type: 'sms',
    direction: 'inbound',
    timestamp: '2026-11-25T10:00:00.000Z',
    from: { phone: '+447700900555', email: null, name: null },
    to: [{ phone: '+447700900101', email: 'alice.smith@contoso.example', name: 'Alice Smith' }],
    text: 'hello',
    ...overrides,
  };
}

function media(id: string, bytes: Buffer, fileName: string | null, contentType: string): MediaDescriptor {
  return { id, fileName, contentType, size: bytes.length, sha256: sha256(bytes), dataBase64: bytes.toString('base64') };
}

async function convert(item: Item): Promise<{ email: ArchivedEmail; eml: Buffer }> {
  const result = await convertItem(stage(item as never), inlineOpener(item), OPTIONS);
  if (!result.ok) throw new Error(`${result.reason}: ${result.detail}`);
  return { email: result.email, eml: await readAll(result.eml) };
}

function longestLine(eml: Buffer): number {
  return Math.max(...lines(eml).map((l) => Buffer.byteLength(l, 'latin1')));
}

test('a name with CRLF and a fake Bcc line: no Bcc header, the name parses back with spaces', async () => {
  const item = sms({
    from: { phone: '+447700900555', name: 'Eve\r\nBcc: victim@evil.example', email: null },
    to: [{ phone: '+447700900101', name: 'Mallory\nBcc: other@evil.example\r\nX-Injected: 1', email: null }],
  });
  const { email, eml } = await convert(item);
  const parsed = await parse(eml);
  expect(parsed.headers.has('bcc')).toBe(false);
  expect(parsed.headers.has('x-injected')).toBe(false);
  expect(rawHeaders(eml).some((h) => /^(bcc|x-injected):/i.test(h))).toBe(false);
  const from = parsed.from;
  expect(from?.value[0].name).toBe('Eve  Bcc: victim@evil.example (+447700900555)');
  expect(from?.value[0].address).toBe('447700900555@mobile.invalid');
  const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
  expect(to?.value.map((a) => a.name)).toEqual(['Mallory Bcc: other@evil.example  X-Injected: 1 (+447700900101)']);
  expect(parsed.subject).toBe('SMS from Eve  Bcc: victim@evil.example to Mallory Bcc: other@evil.example  X-Injected: 1');
  expect(email.subject).toBe(parsed.subject);
});

test('control characters in ids reach no header raw', async () => {
  const item = sms({ id: 'id\r\nBcc: v@evil.example', conversationId: 'c\n\u0000onv' });
  const { email, eml } = await convert(item);
  const parsed = await parse(eml);
  expect(parsed.headers.has('bcc')).toBe(false);
  expect(parsed.headers.get('x-o2archiver-item-id')).toBe('id  Bcc: v@evil.example');
  expect(parsed.headers.get('x-o2archiver-conversation-id')).toBe('c  onv');
  expect(email.itemId).toBe(item.id);
});

test('a 12,000-character word: no line of the message passes 998 octets, and the text reads back exactly', async () => {
  const word = 'W'.repeat(12000);
  const text = `start ${word} ✅ end`;
  const { eml } = await convert(sms({ text }));
  expect(longestLine(eml)).toBeLessThanOrEqual(998);
  expect((await parse(eml)).text).toBe(text);
});

test('huge unbroken header values (past the schema) are encoded, fold, and read back', async () => {
  const id = 'I'.repeat(1500);
  const conversationId = `conv-${'é'.repeat(900)}`;
  const { eml } = await convert(sms({ id, conversationId }));
  expect(longestLine(eml)).toBeLessThanOrEqual(998);
  const parsed = await parse(eml);
  // mailparser leaves unknown headers as written; RFC 2047 decoding gives the value back.
  expect(libmime.decodeWords(String(parsed.headers.get('x-o2archiver-item-id')))).toBe(id);
  expect(libmime.decodeWords(String(parsed.headers.get('x-o2archiver-conversation-id')))).toBe(conversationId);
  expect(libmime.decodeWords(String(parsed.headers.get('thread-topic')))).toBe(`O2 conversation ${conversationId}`);
});

test('a name with a word too long for any header line is a conversion-error, not a broken message', async () => {
  const item = sms({ from: { phone: '+447700900555', name: 'N'.repeat(2000) } });
  const result = await convertItem(stage(item as never), inlineOpener(item), OPTIONS);
  expect(result).toMatchObject({ ok: false, reason: 'conversion-error' });
});

test('text that looks like an encoded word stays literal in the subject', async () => {
  const { eml } = await convert(sms({ from: { phone: '+447700900555', name: '=?UTF-8?B?SGFja2Vk?=' } }));
  expect((await parse(eml)).subject).toBe('SMS from =?UTF-8?B?SGFja2Vk?= to Alice Smith');
});

test('the text is kept byte for byte: bare CR, LF, CRLF, tabs and trailing spaces', async () => {
  const text = 'a\rb\nc\r\nd \t\n\n  e  ';
  const { eml } = await convert(sms({ text }));
  // A single-part message: the body is the base64 after the header block.
  const [, body] = eml.toString('latin1').split('\r\n\r\n');
  expect(Buffer.from(body, 'base64').toString('utf8')).toBe(text);
});

test('names in Arabic and with combining marks parse back exactly', async () => {
  const arabic = 'محمد عبد الله';
  const combining = 'Zoe\u0308 Ame\u0301lie N\u0303u\u0301n\u0303ez';
  const item = sms({
    from: { phone: '+447700900555', name: arabic, email: null },
    to: [
      { phone: '+447700900101', name: combining, email: 'zoe@contoso.example' },
      { phone: '+201001234567', name: 'علي 👍', email: null },
    ],
    text: 'مرحبا Zoe\u0308',
  });
  const { eml } = await convert(item);
  const parsed = await parse(eml);
  const from = parsed.from;
  expect(from?.value[0].name).toBe(`${arabic} (+447700900555)`);
  const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
  expect(to?.value.map((a) => [a.name, a.address])).toEqual([
    [`${combining} (+447700900101)`, 'zoe@contoso.example'],
    ['علي 👍 (+201001234567)', '201001234567@mobile.invalid'],
  ]);
  expect(parsed.subject).toBe(`SMS from ${arabic} to ${combining}, علي 👍`);
  expect(parsed.text).toBe('مرحبا Zoe\u0308');
  // Non-ASCII went out RFC 2047 encoded: the header block is ASCII.
  expect(/^[\x00-\x7f]*$/.test(eml.toString('latin1').split('\r\n\r\n')[0])).toBe(true);
});

test('attachment names: path parts dropped, non-ASCII RFC 2231 encoded and read back', async () => {
  const a = Buffer.from('one');
  const b = Buffer.from('two');
  const c = Buffer.from('three');
  const item = sms({
    type: 'mms',
    media: [media('m1', a, '../../x', 'text/plain'), media('m2', b, 'C:\\x.exe', 'application/octet-stream'), media('m3', c, 'تقرير.pdf', 'application/pdf')],
  });
  const { email, eml } = await convert(item);
  expect(email.attachments.map((x) => x.fileName)).toEqual(['x', 'x.exe', 'تقرير.pdf']);
  const parsed = await parse(eml);
  expect(parsed.attachments.map((x) => x.filename)).toEqual(['x', 'x.exe', 'تقرير.pdf']);
  expect(parsed.attachments.map((x) => x.content.toString())).toEqual(['one', 'two', 'three']);
  expect(eml.toString('latin1')).toMatch(/filename\*[0-9*]*=utf-8''/i);
  expect(eml.toString('latin1')).not.toContain('../');
  expect(eml.toString('latin1')).not.toContain('C:\\');
});

test('a hostile content type becomes application/octet-stream and injects nothing', async () => {
  const bytes = Buffer.from('data');
  const item = sms({ type: 'mms', media: [media('m1', bytes, 'a.bin', 'image/png\r\nBcc: v@evil.example')] });
  const { eml } = await convert(item);
  const parsed = await parse(eml);
  expect(parsed.headers.has('bcc')).toBe(false);
  expect(parsed.attachments[0].contentType).toBe('application/octet-stream');
  expect(parsed.attachments[0].content.equals(bytes)).toBe(true);
});

test('an offset timestamp comes out as the same instant in UTC', async () => {
  const recording = Buffer.from('RIFF');
  const item: Item = {
    ...sms({ type: 'voice', text: null }),
    timestamp: '2026-07-01T16:20:00+01:00',
    call: { durationSeconds: 3725, status: 'voicemail', recording: media('r1', recording, null, 'audio/amr') },
  };
  const { email, eml } = await convert(item);
  expect(email.date).toBe('2026-07-01T15:20:00.000Z');
  const parsed = await parse(eml);
  expect(parsed.date?.toISOString()).toBe('2026-07-01T15:20:00.000Z');
  expect(parsed.subject).toBe('Voicemail from +447700900555 to Alice Smith (1h 02m 05s)');
  expect(parsed.text).toContain('Start (UTC): 2026-07-01 15:20:00 UTC');
  // July: London is on BST, an hour ahead of UTC.
  expect(parsed.text).toContain('Start (Europe/London): Wed, 1 Jul 2026, 16:20:00 BST');
  expect(parsed.text).toContain('Recording: recording.amr (audio/amr, 4 bytes), attached');
  expect(parsed.attachments.map((a) => a.filename)).toEqual(['recording.amr']);
});

test('the call summary shows the display time zone of the settings', async () => {
  const item: Item = { ...sms({ type: 'voice', text: null }), call: { durationSeconds: 45, status: 'answered' } };
  const result = await convertItem(stage(item as never), inlineOpener(item), { ...OPTIONS, displayTimeZone: 'Asia/Tokyo' });
  if (!result.ok) throw new Error(result.detail);
  expect(result.email.text).toContain('Start (Asia/Tokyo): Wed, 25 Nov 2026, 19:00:00 GMT+9');
  expect(result.email.text).toContain('Duration: 45s (45 seconds)');
  expect(result.email.text).toContain('Recording: none');
});

test('everything from the source is escaped in the HTML summary', async () => {
  const item: Item = {
    ...sms({ type: 'voice', text: null }),
    from: { phone: '+447700900555', name: '<script>alert("x")</script> & <b>', email: null },
    call: { durationSeconds: 5, status: 'rejected' },
  };
  const { email, eml } = await convert(item);
  expect(email.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;');
  expect(email.html).not.toContain('<script>');
  expect(email.html).not.toContain('<b>');
  expect((await parse(eml)).html).toBe(email.html);
});

test('media whose bytes are not the descriptor\'s fail the .eml stream with MEDIA_CHECKSUM_MISMATCH', async () => {
  const good = Buffer.from('the real bytes');
  const item = sms({ type: 'mms', media: [media('m1', good, 'a.txt', 'text/plain')] });
  const result = await convertItem(stage(item as never), async () => Readable.from([Buffer.from('other bytes!!!')]), OPTIONS);
  if (!result.ok) throw new Error(result.detail);
  const error = await readAll(result.eml).then(
    () => null,
    (e: unknown) => e,
  );
  expect(isArchiverError(error, 'MEDIA_CHECKSUM_MISMATCH')).toBe(true);
});

test('media longer than the descriptor says also fail the stream', async () => {
  const good = Buffer.from('abc');
  const item = sms({ type: 'mms', media: [media('m1', good, 'a.txt', 'text/plain')] });
  const result = await convertItem(stage(item as never), async () => Readable.from([good, good]), OPTIONS);
  if (!result.ok) throw new Error(result.detail);
  await expect(readAll(result.eml)).rejects.toMatchObject({ code: 'MEDIA_CHECKSUM_MISMATCH' });
});

test('a media-only MMS has no text part and keeps its attachment', async () => {
  const bytes = Buffer.from([0xff, 0xd8, 0xff]);
  const { email, eml } = await convert(sms({ type: 'mms', text: null, media: [media('m1', bytes, null, 'image/jpeg')] }));
  expect(email.text).toBe('');
  const parsed = await parse(eml);
  expect(parsed.text).toBeUndefined();
  expect(parsed.attachments.map((a) => [a.filename, a.content.equals(bytes)])).toEqual([['attachment-1.jpg', true]]);
});

test('with a fixed boundary the output is exactly the same every time', async () => {
  const item = sms({ type: 'mms', media: [media('m1', Buffer.from('x'), 'x.txt', 'text/plain')] });
  const once = async () => {
    const r = await convertItem(stage(item as never), inlineOpener(item), { ...OPTIONS, baseBoundary: 'fixed' });
    if (!r.ok) throw new Error(r.detail);
    return readAll(r.eml);
  };
  const [a, b] = [await once(), await once()];
  expect(a.equals(b)).toBe(true);
  expect(a.toString()).toContain('fixed');
});
