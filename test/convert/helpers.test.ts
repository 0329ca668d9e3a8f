/** The pure helpers of the conversion: durations, labels, addresses, subjects, file names, header text. */
import {
  extensionForContentType,
  formatDuration,
  participantAddress,
  participantDisplayName,
  participantLabel,
  prepareHeaderText,
  safeContentType,
  safeFileName,
  sanitizeHeaderText,
  subjectForItem,
} from '../../shared/stages/convert';
import type { Item, Participant } from '../../shared/model/item';

test.each([
  [0, '0s'],
  [45, '45s'],
  [60, '1m 00s'],
  [125, '2m 05s'],
  [3599, '59m 59s'],
  [3600, '1h 00m 00s'],
  [3725, '1h 02m 05s'],
  [90061, '25h 01m 01s'],
])('formatDuration(%i) is %s', (seconds, text) => {
  expect(formatDuration(seconds)).toBe(text);
});

test('formatDuration refuses what is not a whole number of seconds', () => {
  expect(() => formatDuration(-1)).toThrow(RangeError);
  expect(() => formatDuration(1.5)).toThrow(RangeError);
});

describe('participants', () => {
  const p = (phone: string, name?: string | null, email?: string | null): Participant => ({ phone, name, email });

  test('label: the name, else E.164, else the sender id as given', () => {
    expect(participantLabel(p('+447700900123', 'Alice'), 'GB')).toBe('Alice');
    expect(participantLabel(p('07700 900123'), 'GB')).toBe('+447700900123');
    expect(participantLabel(p('447700900123', '  '), 'GB')).toBe('+447700900123');
    expect(participantLabel(p('BankAlerts'), 'GB')).toBe('BankAlerts');
    expect(participantLabel(p('61234'), 'GB')).toBe('61234');
  });

  test('display name: `Name (+E.164)` where the name is known, else the label', () => {
    expect(participantDisplayName(p('07700 900123', 'Carol White'), 'GB')).toBe('Carol White (+447700900123)');
    expect(participantDisplayName(p('O2', 'Operator'), 'GB')).toBe('Operator (O2)');
    expect(participantDisplayName(p('+447700900123'), 'GB')).toBe('+447700900123');
  });

  test('address: the email, else digits@mobile.invalid, else the sender id folded to letters, digits and -', () => {
    expect(participantAddress(p('+447700900123', null, 'a.b@contoso.example'), 'GB')).toBe('a.b@contoso.example');
    expect(participantAddress(p('07700900123'), 'GB')).toBe('447700900123@mobile.invalid');
    expect(participantAddress(p('O2'), 'GB')).toBe('o2@sender.mobile.invalid');
    expect(participantAddress(p('Bank Alerts!'), 'GB')).toBe('bank-alerts-@sender.mobile.invalid');
    expect(participantAddress(p('Crédit  Agricole'), 'GB')).toBe('cr-dit-agricole@sender.mobile.invalid');
    expect(participantAddress(p('61234'), 'GB')).toBe('61234@sender.mobile.invalid');
  });

  test('an email that is not a plain address is not trusted into a header', () => {
    expect(participantAddress(p('+447700900123', null, 'eve@x.example\r\nBcc: v@evil.example'), 'GB')).toBe('447700900123@mobile.invalid');
    expect(participantAddress(p('+447700900123', null, 'Eve <eve@x.example>'), 'GB')).toBe('447700900123@mobile.invalid');
    expect(participantAddress(p('+447700900123', null, 'a@b@c.example'), 'GB')).toBe('447700900123@mobile.invalid');
    expect(participantAddress(p('+447700900123', null, ''), 'GB')).toBe('447700900123@mobile.invalid');
  });

  test('the default region decides numbers without a country code', () => {
    expect(participantLabel(p('0612345678'), 'FR')).toBe('+33612345678');
  });
});

describe('subjects', () => {
  const alice: Participant = { phone: '+447700900101', name: 'Alice Smith' };
  const bob: Participant = { phone: '+447700900102', name: 'Bob Jones' };
  const voice = (status: 'answered' | 'missed' | 'rejected' | 'voicemail', durationSeconds: number): Item => ({
    id: 'v',
    type: 'voice',
    direction: 'inbound',
    timestamp: '2026-11-25T10:00:00.000Z',
    from: alice,
    to: [bob],
    call: { status, durationSeconds },
  });

  test.each([
    ['answered', 125, 'Voice call from Alice Smith to Bob Jones (2m 05s)'],
    ['missed', 0, 'Missed voice call from Alice Smith to Bob Jones'],
    ['rejected', 3, 'Rejected voice call from Alice Smith to Bob Jones'],
    ['voicemail', 65, 'Voicemail from Alice Smith to Bob Jones (1m 05s)'],
  ] as const)('voice, %s', (status, seconds, subject) => {
    expect(subjectForItem(voice(status, seconds), 'GB')).toBe(subject);
  });

  test('up to three recipients are all named; beyond three, the first three and the count of the others', () => {
    const to = (n: number): Participant[] => Array.from({ length: n }, (_, i) => ({ phone: `+4477009002${10 + i}` }));
    const sms = (n: number): Item => ({ id: 's', type: 'sms', direction: 'outbound', timestamp: '2026-11-25T10:00:00Z', from: alice, to: to(n), text: 'x' });
    expect(subjectForItem(sms(3), 'GB')).toBe('SMS from Alice Smith to +447700900210, +447700900211, +447700900212');
    expect(subjectForItem(sms(4), 'GB')).toBe('SMS from Alice Smith to +447700900210, +447700900211, +447700900212 and 1 other');
    expect(subjectForItem(sms(6), 'GB')).toBe('SMS from Alice Smith to +447700900210, +447700900211, +447700900212 and 3 others');
    expect(subjectForItem({ ...sms(1), type: 'mms' }, 'GB')).toBe('MMS from Alice Smith to +447700900210');
  });
});

describe('file names', () => {
  test.each([
    ['../../x', 'x'],
    ['C:\\x.exe', 'x.exe'],
    ['/etc/passwd', 'passwd'],
    ['a\r\nb.txt', 'a  b.txt'],
    ['..', 'attachment-3.png'],
    ['  .hidden.  ', 'hidden'],
    ['what?.png', 'what_.png'],
    ['photo\u202egnp.exe', 'photognp.exe'],
    ['تقرير الربع.pdf', 'تقرير الربع.pdf'],
    [null, 'attachment-3.png'],
    ['', 'attachment-3.png'],
  ])('%j becomes %j', (name, safe) => {
    expect(safeFileName(name, 'image/png', 3)).toBe(safe);
  });

  test('a missing name is made up from the content type', () => {
    expect(safeFileName(null, 'text/vcard', 1)).toBe('attachment-1.vcf');
    expect(safeFileName(undefined, 'audio/wav', 'recording')).toBe('recording.wav');
    expect(safeFileName(null, 'application/x-unheard-of', 2)).toBe('attachment-2.bin');
    expect(extensionForContentType('image/jpeg; charset=x')).toBe('jpg');
  });

  test('a very long name is cut, keeping its extension', () => {
    const safe = safeFileName(`${'n'.repeat(500)}.jpeg`, 'image/jpeg', 1);
    expect(safe.length).toBe(120);
    expect(safe.endsWith('n.jpeg')).toBe(true);
  });
});

test('content types: well formed kept (with a charset), anything else octet-stream', () => {
  expect(safeContentType('Image/PNG')).toBe('image/png');
  expect(safeContentType('text/plain; charset="UTF-8"; format=flowed')).toBe('text/plain; charset=utf-8');
  expect(safeContentType('image/png\r\nBcc: v@evil.example')).toBe('application/octet-stream');
  expect(safeContentType('multipart/mixed; boundary=x')).toBe('application/octet-stream');
  expect(safeContentType('message/rfc822')).toBe('application/octet-stream');
  expect(safeContentType('')).toBe('application/octet-stream');
});

test('header text: control characters become spaces; unfoldable or encoded-word-like values are encoded', () => {
  expect(sanitizeHeaderText('a\r\nBcc: b\u0000c\u007fd\u0085e\tf')).toBe('a  Bcc: b c d e f');
  expect(sanitizeHeaderText('محمد Zoe\u0308')).toBe('محمد Zoe\u0308');
  expect(prepareHeaderText('plain words')).toBe('plain words');
  expect(prepareHeaderText('x'.repeat(900))).toMatch(/^=\?UTF-8\?Q\?x+\?=( =\?UTF-8\?Q\?x+\?=)+$/);
  expect(prepareHeaderText('=?UTF-8?B?SGk=?=')).toMatch(/^=\?UTF-8\?Q\?/);
});

test('header text: a run of 800 characters without whitespace is too long to fold, 799 is not, however long the value', () => {
  const encoded = /^=\?UTF-8\?Q\?/;
  expect(prepareHeaderText('x'.repeat(800))).toMatch(encoded);
  expect(prepareHeaderText(`a ${'x'.repeat(800)} b`)).toMatch(encoded);
  expect(prepareHeaderText('x'.repeat(799))).toBe('x'.repeat(799));
  const manyWords = `${'x'.repeat(799)} `.repeat(5);
  expect(prepareHeaderText(manyWords)).toBe(manyWords);
  expect(prepareHeaderText(`${'x'.repeat(400)} ${'x'.repeat(399)}`)).toBe(`${'x'.repeat(400)} ${'x'.repeat(399)}`);
});

describe('plain file names and content types pass as they are; near misses still get every step', () => {
  test.each([
    ['IMG_0001.jpg', 'IMG_0001.jpg'],
    ['my photo.jpg', 'my photo.jpg'],
    ['a', 'a'],
    ['-x-', '-x-'],
    ['x.', 'x'],
    [' x', 'x'],
    ['.x', 'x'],
    ['x\ty.png', 'x y.png'],
    [`${'p'.repeat(116)}.png`, `${'p'.repeat(116)}.png`],
    [`${'p'.repeat(117)}.png`, `${'p'.repeat(116)}.png`],
  ])('%j becomes %j', (name, safe) => {
    expect(safeFileName(name, 'image/png', 1)).toBe(safe);
  });

  test.each([
    ['image/jpeg', 'image/jpeg'],
    ['audio/x-wav', 'audio/x-wav'],
    ['application/vnd.ms-excel', 'application/vnd.ms-excel'],
    ['multipart/related', 'application/octet-stream'],
    ['message/partial', 'application/octet-stream'],
    ['image/JPEG', 'image/jpeg'],
    [' image/jpeg', 'image/jpeg'],
    ['image/jpeg ', 'image/jpeg'],
  ])('%j becomes %j', (contentType, safe) => {
    expect(safeContentType(contentType)).toBe(safe);
  });
});
