/** A small tenant and an archiver-shaped message for the Graph emulator tests. */
import type { TenantUserInput } from '../../../local/emulators/graph';

export const ITEM_PROP = 'String {e264df5e-3813-4e29-bc56-d084eb5a95a3} Name O2ArchiverItemId';
export const FOLDER = 'O2 SMS and Voice Network Archiver';

export const users: TenantUserInput[] = [
  { displayName: 'Alice Smith', userPrincipalName: 'alice@contoso.test', mail: 'Alice.Smith@contoso.test', proxyAddresses: ['SMTP:Alice.Smith@contoso.test', 'smtp:alice@contoso.test', 'smtp:as@legacy.contoso.test'] },
  { displayName: 'Bob Jones', userPrincipalName: 'bob@contoso.test', mail: 'bob@contoso.test' },
  { displayName: 'Carol White', userPrincipalName: 'carol@contoso.test', mail: 'carol@contoso.test', hasMailbox: false },
];

/** A message as the importer creates it: received (flags 1), times, Message-ID, x- headers, the item-id named property. */
export function archivedMessage(itemId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    subject: `SMS from Bob Jones to Alice Smith (${itemId})`,
    body: { contentType: 'text', content: 'Hello 👋 from the archive' },
    from: { emailAddress: { name: 'Bob Jones (+447700900123)', address: '447700900123@mobile.invalid' } },
    toRecipients: [{ emailAddress: { name: 'Alice Smith (+447700900456)', address: 'alice@contoso.test' } }],
    internetMessageId: `<${itemId}@o2-network-archiver>`,
    internetMessageHeaders: [
      { name: 'X-O2Archiver-Item-Id', value: itemId },
      { name: 'X-O2Archiver-Item-Type', value: 'sms' },
    ],
    singleValueExtendedProperties: [
      { id: 'Integer 0x0E07', value: '1' },
      { id: 'SystemTime 0x0E06', value: '2026-11-25T10:15:30Z' },
      { id: 'SystemTime 0x0039', value: '2026-11-25T10:15:30Z' },
      { id: ITEM_PROP, value: itemId },
    ],
    ...extra,
  };
}
