/** Every fixture item converts, and its .eml reads back (mailparser) to exactly what the contract says. */
import { createHash } from 'node:crypto';
import { convertItem, describeArchivedEmail, messageIdForItem } from '../../shared/stages/convert';
import type { ArchivedEmail } from '../../shared/model/stages';
import type { Item } from '../../shared/model/item';
import { fixtureNames, inlineOpener, lines, loadFixture, OPTIONS, parse, rawHeaders, readAll, sha256, stage } from './support';

interface Expected {
  subject: string;
  from: [string, string];
  to: Array<[string, string]>;
  attachments: Array<[string, string]>;
}

// Written out by hand from the contract, so the test does not borrow the code's own logic.
const EXPECTED: Record<string, Expected> = {
  'sms-outbound-internal.json': {
    subject: 'SMS from Alice Smith to Bob Jones',
    from: ['Alice Smith (+447700900101)', 'alice.smith@contoso.example'],
    to: [['Bob Jones (+447700900102)', 'bob.jones@contoso.example']],
    attachments: [],
  },
  'sms-inbound-external-emoji.json': {
    subject: 'SMS from +447700900555 to Alice Smith',
    from: ['+447700900555', '447700900555@mobile.invalid'],
    to: [['Alice Smith (+447700900101)', 'alice.smith@contoso.example']],
    attachments: [],
  },
  'sms-alphanumeric-sender.json': {
    subject: 'SMS from O2 to Bob Jones',
    from: ['O2', 'o2@sender.mobile.invalid'],
    to: [['Bob Jones (+447700900102)', 'bob.jones@contoso.example']],
    attachments: [],
  },
  'sms-group-five.json': {
    subject: 'SMS from Bob Jones to Alice Smith, +447700900555, Carol White and 2 others',
    from: ['Bob Jones (+447700900102)', 'bob.jones@contoso.example'],
    to: [
      ['Alice Smith (+447700900101)', 'alice.smith@contoso.example'],
      ['+447700900555', '447700900555@mobile.invalid'],
      ['Carol White (+447700900103)', '447700900103@mobile.invalid'],
      ['+447700900556', '447700900556@mobile.invalid'],
      ['Dan (+447700900557)', '447700900557@mobile.invalid'],
    ],
    attachments: [],
  },
  'sms-unmapped.json': {
    subject: 'SMS from +447700900555 to +447700900999',
    from: ['+447700900555', '447700900555@mobile.invalid'],
    to: [['+447700900999', '447700900999@mobile.invalid']],
    attachments: [],
  },
  'mms-photo.json': {
    subject: 'MMS from Alice Smith to +447700900555',
    from: ['Alice Smith (+447700900101)', 'alice.smith@contoso.example'],
    to: [['+447700900555', '447700900555@mobile.invalid']],
    attachments: [
      ['signed-contract.png', 'image/png'],
      ['attachment-2.vcf', 'text/vcard'],
    ],
  },
  'voice-answered-recorded.json': {
    subject: 'Voice call from +447700900555 to Bob Jones (2m 05s)',
    from: ['+447700900555', '447700900555@mobile.invalid'],
    to: [['Bob Jones (+447700900102)', 'bob.jones@contoso.example']],
    attachments: [['call-0001.wav', 'audio/wav']],
  },
  'voice-missed.json': {
    subject: 'Missed voice call from Bob Jones to Alice Smith',
    from: ['Bob Jones (+447700900102)', 'bob.jones@contoso.example'],
    to: [['Alice Smith (+447700900101)', 'alice.smith@contoso.example']],
    attachments: [],
  },
};

test('the expectations cover every fixture item', () => {
  expect(Object.keys(EXPECTED).sort()).toEqual(fixtureNames());
});

describe.each(fixtureNames())('%s', (name) => {
  const raw = loadFixture(name);
  const staged = stage(raw);
  const item = staged.item;
  const expected = EXPECTED[name];
  let email: ArchivedEmail;
  let eml: Buffer;

  beforeAll(async () => {
    const result = await convertItem(staged, inlineOpener(item), OPTIONS);
    if (!result.ok) throw new Error(`${result.reason}: ${result.detail}`);
    email = result.email;
    eml = await readAll(result.eml);
  });

  test('Message-ID, Date, From, To and Subject', async () => {
    const parsed = await parse(eml);
    const messageId = `<${createHash('sha256').update(item.id).digest('hex').slice(0, 40)}@o2-network-archiver>`;
    expect(parsed.messageId).toBe(messageId);
    expect(email.messageId).toBe(messageId);
    expect(messageIdForItem(item.id)).toBe(messageId);
    // The Date header carries whole seconds.
    expect(parsed.date?.toISOString()).toBe(new Date(Math.floor(Date.parse(item.timestamp) / 1000) * 1000).toISOString());
    expect(email.date).toBe(new Date(item.timestamp).toISOString());
    expect(parsed.subject).toBe(expected.subject);
    expect(email.subject).toBe(expected.subject);
    const from = parsed.from;
    expect(from?.value.map((a) => [a.name, a.address])).toEqual([expected.from]);
    const to = Array.isArray(parsed.to) ? parsed.to.flatMap((t) => t.value) : parsed.to?.value ?? [];
    expect(to.map((a) => [a.name, a.address])).toEqual(expected.to);
    expect([email.from.name, email.from.address]).toEqual(expected.from);
    expect(email.to.map((a) => [a.name, a.address])).toEqual(expected.to);
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.headers.has('cc')).toBe(false);
  });

  test('X-O2Archiver headers, in the contract spelling and only where they apply', async () => {
    const parsed = await parse(eml);
    const want: Record<string, string> = {
      'X-O2Archiver-Item-Id': item.id,
      'X-O2Archiver-Item-Type': item.type,
      'X-O2Archiver-Direction': item.direction,
      'X-O2Archiver-Source-SHA256': staged.sourceSha256,
    };
    if (item.conversationId) want['X-O2Archiver-Conversation-Id'] = item.conversationId;
    if (item.type === 'voice') {
      want['X-O2Archiver-Call-Duration'] = String(item.call!.durationSeconds);
      want['X-O2Archiver-Call-Status'] = item.call!.status;
    }
    expect(email.archiverHeaders).toEqual(want);
    const written = rawHeaders(eml).filter((h) => /^x-o2archiver-/i.test(h));
    expect(written.sort()).toEqual(Object.entries(want).map(([k, v]) => `${k}: ${v}`).sort());
    for (const [key, value] of Object.entries(want)) expect(parsed.headers.get(key.toLowerCase())).toBe(value);
    expect(staged.sourceSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('References and Thread-Topic', async () => {
    const parsed = await parse(eml);
    expect(parsed.references).toBe(email.references);
    expect(email.references).toMatch(/^<[0-9a-f]{40}@o2-network-archiver>$/);
    expect(email.references).not.toBe(email.messageId);
    expect(parsed.headers.get('thread-topic')).toBe(email.threadTopic);
    expect(rawHeaders(eml)).toContain(`Thread-Topic: ${email.threadTopic}`);
  });

  test('the body', async () => {
    const parsed = await parse(eml);
    if (item.type === 'voice') {
      const call = item.call!;
      expect(parsed.text).toBe(email.text);
      expect(parsed.html).toBe(email.html);
      expect(email.text).toContain(`Direction: ${item.direction === 'inbound' ? 'Inbound' : 'Outbound'}`);
      expect(email.text).toContain(`Status: ${call.status.charAt(0).toUpperCase()}${call.status.slice(1)}`);
      const utc = new Date(item.timestamp).toISOString().slice(0, 19).replace('T', ' ');
      expect(email.text).toContain(`Start (UTC): ${utc} UTC`);
      // November: London is on GMT, the same wall time as UTC.
      expect(email.text).toContain(`Start (Europe/London): Wed, 25 Nov 2026, ${utc.slice(11)} GMT`);
      expect(email.text).toContain(`(${call.durationSeconds} seconds)`);
      for (const [display] of [expected.from, ...expected.to]) expect(email.text).toContain(display);
      expect(email.html).toContain('<table>');
    } else {
      expect(parsed.text).toBe(item.text);
      expect(email.text).toBe(item.text);
      expect(parsed.html).toBe(false);
      expect(email.html).toBeUndefined();
    }
  });

  test('every attachment, byte for byte', async () => {
    const parsed = await parse(eml);
    const media = [...(item.media ?? []), ...(item.call?.recording ? [item.call.recording] : [])];
    expect(parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual(expected.attachments);
    expect(email.attachments.map((a) => [a.fileName, a.contentType])).toEqual(expected.attachments);
    parsed.attachments.forEach((attachment, i) => {
      const bytes = Buffer.from(media[i].dataBase64!, 'base64');
      expect(attachment.content.equals(bytes)).toBe(true);
      expect(sha256(attachment.content)).toBe(media[i].sha256);
      expect(attachment.contentDisposition).toBe('attachment');
      expect(email.attachments[i]).toEqual({
        mediaId: media[i].id,
        fileName: expected.attachments[i][0],
        contentType: expected.attachments[i][1],
        size: media[i].size,
        sha256: media[i].sha256,
      });
    });
  });

  test('CRLF lines, none longer than 998 octets', () => {
    expect(eml.includes('\n')).toBe(true);
    expect(/(^|[^\r])\n/.test(eml.toString('latin1'))).toBe(false);
    expect(Math.max(...lines(eml).map((l) => Buffer.byteLength(l, 'latin1')))).toBeLessThanOrEqual(998);
  });

  test('the model is pure: the same item gives the same email', () => {
    expect(describeArchivedEmail(staged, OPTIONS)).toEqual(email);
  });
});

test('items between the same people share a thread; a conversation id makes its own', () => {
  const email = (name: string): ArchivedEmail => describeArchivedEmail(stage(loadFixture(name)), OPTIONS);
  // +447700900555 -> Alice, and Alice -> +447700900555: the same two numbers.
  const inbound = email('sms-inbound-external-emoji.json');
  const outbound = email('mms-photo.json');
  expect(inbound.references).toBe(outbound.references);
  expect(inbound.threadTopic).toBe(outbound.threadTopic);
  const other = email('sms-unmapped.json');
  expect(other.references).not.toBe(inbound.references);
  const conversation = email('sms-outbound-internal.json');
  const sameConversation = describeArchivedEmail(
    stage({ ...loadFixture('sms-group-five.json'), id: 'tm-sms-x', conversationId: 'conv-ab-1' }),
    OPTIONS,
  );
  expect(sameConversation.references).toBe(conversation.references);
  expect(sameConversation.threadTopic).toBe(conversation.threadTopic);
  const item = loadFixture('sms-outbound-internal.json') as unknown as Item;
  expect(describeArchivedEmail(stage({ ...item, conversationId: null } as never), OPTIONS).references).not.toBe(conversation.references);
});
