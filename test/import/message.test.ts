import {
  buildMessage,
  fileAttachment,
  fileAttachmentJsonBytes,
  ITEM_ID_PROPERTY,
  MAX_REQUEST_BYTES,
  messageBody,
  namedStringProperty,
  planAttachments,
  splitArchiverHeaders,
  toSecond,
} from '../../shared/stages/import/message';
import type { ArchivedAttachment, ArchivedEmail } from '../../shared/model/stages';

function email(overrides: Partial<ArchivedEmail> = {}): ArchivedEmail {
  return {
    itemId: 'sms-0001',
    itemKey: 'k'.repeat(64),
    itemType: 'sms',
    messageId: '<0123456789abcdef0123456789abcdef01234567@o2-network-archiver>',
    date: '2024-05-01T10:11:12.987Z',
    subject: 'SMS from Bob Jones to Alice Smith',
    from: { name: 'Bob Jones (+447700900123)', address: '447700900123@mobile.invalid' },
    to: [{ name: 'Alice Smith (+447700900456)', address: 'alice@contoso.com' }],
    text: 'Hello 👋',
    archiverHeaders: {
      'X-O2Archiver-Item-Id': 'sms-0001',
      'X-O2Archiver-Item-Type': 'sms',
      'X-O2Archiver-Direction': 'outbound',
      'X-O2Archiver-Conversation-Id': 'conv-9',
      'X-O2Archiver-Source-SHA256': 'a'.repeat(64),
    },
    references: '<conv-9@o2-network-archiver>',
    threadTopic: 'Bob Jones, Alice Smith',
    attachments: [],
    ...overrides,
  };
}

const voice = () =>
  email({
    itemId: 'voice-7',
    itemType: 'voice',
    archiverHeaders: {
      'X-O2Archiver-Item-Id': 'voice-7',
      'X-O2Archiver-Item-Type': 'voice',
      'X-O2Archiver-Direction': 'inbound',
      'X-O2Archiver-Conversation-Id': 'conv-3',
      'X-O2Archiver-Source-SHA256': 'b'.repeat(64),
      'X-O2Archiver-Call-Duration': '125',
      'X-O2Archiver-Call-Status': 'answered',
    },
  });

function attachment(size: number, name = `file-${size}.bin`): ArchivedAttachment {
  return { mediaId: `m-${name}`, fileName: name, contentType: 'application/octet-stream', size, sha256: 'c'.repeat(64) };
}

describe('internetMessageHeaders: five at most', () => {
  it('takes Conversation-Id as the fifth header of an SMS', () => {
    const { headers, properties } = splitArchiverHeaders(email());
    expect(headers.map((h) => h.name)).toEqual([
      'X-O2Archiver-Item-Id',
      'X-O2Archiver-Item-Type',
      'X-O2Archiver-Direction',
      'X-O2Archiver-Source-SHA256',
      'X-O2Archiver-Conversation-Id',
    ]);
    expect(properties).toEqual([]);
  });

  it('takes Call-Status as the fifth header of a call and keeps Conversation-Id and Call-Duration as named properties', () => {
    const message = buildMessage(voice());
    expect(message.internetMessageHeaders).toHaveLength(5);
    expect(message.internetMessageHeaders[4]).toEqual({ name: 'X-O2Archiver-Call-Status', value: 'answered' });
    expect(message.internetMessageHeaders.map((h) => h.name)).not.toContain('X-O2Archiver-Conversation-Id');
    expect(message.singleValueExtendedProperties).toEqual(
      expect.arrayContaining([
        { id: namedStringProperty('X-O2Archiver-Call-Duration'), value: '125' },
        { id: namedStringProperty('X-O2Archiver-Conversation-Id'), value: 'conv-3' },
      ]),
    );
    expect(message.internetMessageHeaders.every((h) => h.name.toLowerCase().startsWith('x-'))).toBe(true);
  });

  it('sends four headers for an SMS without a conversation', () => {
    const headers = { ...email().archiverHeaders };
    delete headers['X-O2Archiver-Conversation-Id'];
    expect(buildMessage(email({ archiverHeaders: headers })).internetMessageHeaders).toHaveLength(4);
  });
});

describe('message JSON', () => {
  it('looks received: flags 1, delivery and submit times truncated to the second, item id as named property', () => {
    const m = buildMessage(email());
    expect(m.singleValueExtendedProperties).toEqual(
      expect.arrayContaining([
        { id: 'Integer 0x0E07', value: '1' },
        { id: 'SystemTime 0x0E06', value: '2024-05-01T10:11:12Z' },
        { id: 'SystemTime 0x0039', value: '2024-05-01T10:11:12Z' },
        { id: 'String {e264df5e-3813-4e29-bc56-d084eb5a95a3} Name O2ArchiverItemId', value: 'sms-0001' },
      ]),
    );
    expect(ITEM_ID_PROPERTY).toBe('String {e264df5e-3813-4e29-bc56-d084eb5a95a3} Name O2ArchiverItemId');
    expect(m.internetMessageId).toBe('<0123456789abcdef0123456789abcdef01234567@o2-network-archiver>');
    expect(m.from).toEqual({ emailAddress: { name: 'Bob Jones (+447700900123)', address: '447700900123@mobile.invalid' } });
    expect(m.sender).toEqual(m.from);
    expect(m.toRecipients).toEqual([{ emailAddress: { name: 'Alice Smith (+447700900456)', address: 'alice@contoso.com' } }]);
    expect(m.body).toEqual({ contentType: 'text', content: 'Hello 👋' });
    expect(m.attachments).toBeUndefined();
  });

  it('truncates, never rounds, to the second', () => {
    expect(toSecond('2024-12-31T23:59:59.999Z')).toBe('2024-12-31T23:59:59Z');
    expect(toSecond('2024-01-01T00:00:00Z')).toBe('2024-01-01T00:00:00Z');
  });

  it('uses the HTML body when there is one and lists missing attachments with size and SHA-256', () => {
    const missing = [{ mediaId: 'm1', fileName: 'clip <1>.mp4', size: 5_000_000, sha256: 'd'.repeat(64), reason: 'status 413 ErrorTooBig' }];
    const html = messageBody({ text: 't', html: '<html><body><p>Hi</p></body></html>' }, missing);
    expect(html.contentType).toBe('html');
    expect(html.content).toContain('clip &lt;1&gt;.mp4 (5000000 bytes, SHA-256 ' + 'd'.repeat(64));
    expect(html.content.indexOf('clip')).toBeLessThan(html.content.indexOf('</body>'));
    const text = messageBody({ text: 'Hello' }, missing);
    expect(text.content.startsWith('Hello')).toBe(true);
    expect(text.content).toContain('- clip <1>.mp4 (5000000 bytes, SHA-256 ' + 'd'.repeat(64));
  });
});

describe('attachment routes at the 4,000,000-byte line', () => {
  const e = email();
  const base = Buffer.byteLength(JSON.stringify(buildMessage(e)), 'utf8') + Buffer.byteLength(',"attachments":[]');

  /** The largest file that still fits inline alone: its request is 3,999,999 bytes. */
  function largestInline(name: string): number {
    let size = Math.floor(((MAX_REQUEST_BYTES - base) * 3) / 4);
    while (base + fileAttachmentJsonBytes(attachment(size, name)) >= MAX_REQUEST_BYTES) size--;
    return size;
  }

  it('puts an attachment inline while the whole request stays under 4,000,000 bytes, and the real request agrees', () => {
    const size = largestInline('edge.bin');
    const a = attachment(size, 'edge.bin');
    expect(planAttachments(e, [a])).toEqual(['inline']);
    const body = JSON.stringify(buildMessage(e, { inline: [fileAttachment(a, Buffer.alloc(size, 7))] }));
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_REQUEST_BYTES);
    // Three more bytes of file are four more of base64: the request would reach the line.
    const bigger = attachment(size + 3, 'edge.bin');
    // Not inline any more; alone in a POST of its own it is well under the line (and under 3 MB).
    expect(planAttachments(e, [bigger])).toEqual(['post']);
    const biggerBody = JSON.stringify(buildMessage(e, { inline: [fileAttachment(bigger, Buffer.alloc(size + 3, 7))] }));
    expect(Buffer.byteLength(biggerBody)).toBeGreaterThanOrEqual(MAX_REQUEST_BYTES);
  });

  it('sends a small attachment that no longer fits by a POST of its own, a large one by an upload session', () => {
    const routes = planAttachments(e, [attachment(2_500_000, 'a.jpg'), attachment(1_000_000, 'b.jpg'), attachment(5_000_000, 'c.mp4'), attachment(10, 'd.txt')]);
    expect(routes).toEqual(['inline', 'post', 'upload-session', 'inline']);
  });

  it('sends every attachment separately when inline is not allowed', () => {
    expect(planAttachments(e, [attachment(10), attachment(20)], { allowInline: false })).toEqual(['post', 'post']);
  });

  it('counts the missing-attachment list in the body toward the limit', () => {
    const size = largestInline('edge.bin');
    const missing = [{ mediaId: 'x', fileName: 'gone.bin', size: 1, sha256: 'e'.repeat(64), reason: 'status 400 Refused' }];
    expect(planAttachments(e, [attachment(size, 'edge.bin')])).toEqual(['inline']);
    expect(planAttachments(e, [attachment(size, 'edge.bin')], { missing })).toEqual(['post']);
  });
});

describe('no attachment size without a way into the mailbox (issue 11)', () => {
  const e = email();
  // Graph's documented limits as the emulator keeps them: a POST under 3 MB, an upload session from 3 MB to 150 MB,
  // a request of at most 4 MB (4,194,304 bytes).
  const GRAPH_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

  it.each([
    [1, 'post'],
    [2_999_999, 'post'],
    [3_000_000, 'upload-session'],
    [3_145_727, 'upload-session'],
    [3_145_728, 'upload-session'],
    [150_000_000, 'upload-session'],
  ])('a file of %i bytes that is not inline goes by %s', (size, route) => {
    expect(planAttachments(e, [attachment(size)], { allowInline: false })).toEqual([route]);
  });

  it('keeps the POST of the largest file it sends that way within the 4 MB request limit, with the longest name and type', () => {
    const worst = { ...attachment(2_999_999, `${'\u{1F4F7}'.repeat(120)}`), contentType: `application/${'x'.repeat(100)}; charset=utf-8` };
    expect(planAttachments(e, [worst], { allowInline: false })).toEqual(['post']);
    expect(fileAttachmentJsonBytes(worst)).toBeLessThanOrEqual(GRAPH_MAX_REQUEST_BYTES);
    expect(Buffer.byteLength(JSON.stringify(fileAttachment(worst, Buffer.alloc(worst.size))))).toBe(fileAttachmentJsonBytes(worst));
  });

  it('sends every size around the inline line one way or the other, never none', () => {
    const base = Buffer.byteLength(JSON.stringify(buildMessage(e)), 'utf8') + Buffer.byteLength(',"attachments":[]');
    let edge = Math.floor(((MAX_REQUEST_BYTES - base) * 3) / 4);
    while (base + fileAttachmentJsonBytes(attachment(edge)) >= MAX_REQUEST_BYTES) edge--;
    for (const size of [edge - 1, edge, edge + 1, edge + 3, 2_999_999, 3_000_000]) {
      const [route] = planAttachments(e, [attachment(size)]);
      const expected = size <= edge ? 'inline' : size < 3_000_000 ? 'post' : 'upload-session';
      expect([size, route]).toEqual([size, expected]);
    }
  });
});

describe('the body of a message re-created without refused attachments (issue 11)', () => {
  it('lists file names with $ patterns as they are: a replacement never splices the body into itself', () => {
    const names = ["a$'b.jpg", 'c$`d.jpg', 'e$&f.jpg', 'g$$h.jpg', 'i$1j.jpg', "$'$`$&.jpg"];
    const missing = names.map((fileName, i) => ({ mediaId: `m${i}`, fileName, size: 10 + i, sha256: 'd'.repeat(64), reason: 'status 400 ErrorInvalidOperation' }));
    const html = '<html><head><title>t</title></head><body><p>Hello</p></body></html>';
    const body = messageBody({ text: 'Hello', html }, missing);
    expect(body.content.startsWith('<html><head><title>t</title></head><body><p>Hello</p><hr>')).toBe(true);
    expect(body.content.endsWith('</ul></body></html>')).toBe(true);
    expect(body.content.match(/<\/body>/g)).toHaveLength(1);
    expect(body.content.match(/<html>/g)).toHaveLength(1);
    for (const name of names) expect(body.content).toContain(`<li>${name.replace(/&/g, '&amp;')} (`);
  });
});
