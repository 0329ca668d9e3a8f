/** The item's time and keys as the email writes them: the same answers Date and item.ts give, by a shorter way. */
import { describeArchivedEmail, messageIdForItem } from '../../shared/stages/convert';
import { utcTimestamp } from '../../shared/stages/convert/time';
import { itemKey, type Item } from '../../shared/model/item';
import { OPTIONS, stage } from './support';

describe('utcTimestamp writes what Date#toISOString writes, or refuses what Date cannot read', () => {
  test.each([
    '2026-11-25T10:02:44.000Z',
    '2026-11-25T23:59:59.999Z',
    '2024-02-29T12:00:00.000Z',
    '2000-02-29T00:00:00.000Z',
    '0000-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
    // Date rolls these over: the same instant Date gives.
    '2026-02-29T00:00:00.000Z',
    '1900-02-29T00:00:00.000Z',
    '2026-04-31T08:00:00.000Z',
    '2026-02-30T00:00:00.000Z',
    '2026-01-01T24:00:00.000Z',
    // Other forms of an instant.
    '2026-07-01T16:20:00+01:00',
    '2026-11-25T10:02:44Z',
    '2026-11-25T10:02:44.5Z',
  ])('%s', (timestamp) => {
    expect(utcTimestamp(timestamp)).toBe(new Date(timestamp).toISOString());
  });

  test.each(['2026-13-01T00:00:00.000Z', '2026-01-32T00:00:00.000Z', '2026-01-01T23:60:00.000Z', '2026-01-01T23:59:60.000Z', 'yesterday', ''])(
    '%s is no instant',
    (timestamp) => {
      expect(() => utcTimestamp(timestamp)).toThrow(RangeError);
    },
  );
});

test.each(['tm-sms-0001', 'id with spaces', 'Zoë-測試-👍', 'x'.repeat(256)])('the item key and Message-ID of %s are item.ts itemKey and its first 40 hex digits', (id) => {
  const item: Item = {
    id,
    type: 'sms',
    direction: 'inbound',
    timestamp: '2026-11-25T10:00:00.000Z',
    from: { phone: '+447700900555' },
    to: [{ phone: '+447700900101' }],
    text: 'hello',
  };
  const email = describeArchivedEmail(stage(item as never), OPTIONS);
  expect(email.itemKey).toBe(itemKey(id));
  expect(email.messageId).toBe(`<${itemKey(id).slice(0, 40)}@o2-network-archiver>`);
  expect(email.messageId).toBe(messageIdForItem(id));
});
