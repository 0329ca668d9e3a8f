/**
 * The headers of the archived email that are not addresses or the subject:
 * Message-ID, the thread (References, Thread-Topic) and the X-O2Archiver-*
 * headers (archived-email.md, "Headers of the .eml").
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import type { Item, StagedItem } from '../../model/item';
import { viewParticipant, type ParticipantView } from './addresses';
import { sanitizeHeaderText } from './header-text';

/** Right-hand side of every id this archiver makes up (Message-ID, thread root). */
export const MESSAGE_ID_DOMAIN = 'o2-network-archiver';

/** The X-O2Archiver-* header names, in the contract's spelling. */
export const ArchiverHeader = {
  itemId: 'X-O2Archiver-Item-Id',
  itemType: 'X-O2Archiver-Item-Type',
  direction: 'X-O2Archiver-Direction',
  conversationId: 'X-O2Archiver-Conversation-Id',
  sourceSha256: 'X-O2Archiver-Source-SHA256',
  callDuration: 'X-O2Archiver-Call-Duration',
  callStatus: 'X-O2Archiver-Call-Status',
} as const;

export const THREAD_TOPIC_HEADER = 'Thread-Topic';

// nodemailer normalises header names to its own casing (`X-O2archiver-Item-ID`);
// the contract fixes the spelling, so the composer maps them back through this table.
const CONTRACT_SPELLING = new Map<string, string>(
  [...Object.values(ArchiverHeader), THREAD_TOPIC_HEADER].map((name) => [name.toLowerCase(), name]),
);
/** The first letters (lower case) of those names. */
const CONTRACT_INITIALS = new Set([...CONTRACT_SPELLING.keys()].map((name) => name.charCodeAt(0)));

/** The contract's spelling of a header name nodemailer is about to write (others unchanged). */
export function headerSpelling(key: string): string {
  // nodemailer asks for every header of every part: one that cannot be ours by its first letter passes at once.
  if (!CONTRACT_INITIALS.has(key.charCodeAt(0) | 0x20)) return key;
  return CONTRACT_SPELLING.get(key.toLowerCase()) ?? key;
}

/** The Message-ID of an item: `<` + first 40 hex of SHA-256 of the id + `@o2-network-archiver>`, the same for every run. */
export function messageIdForItem(itemId: string): string {
  return messageIdForItemKey(sha256Hex(itemId));
}

/** The item's key (item.ts itemKey: the hex SHA-256 of the id), by the one-shot hash. */
export function itemKeyOf(itemId: string): string {
  return sha256Hex(itemId);
}

/** The Message-ID from the item's key (itemKey: the hex SHA-256 of its id), without hashing the id again. */
export function messageIdForItemKey(key: string): string {
  return `<${key.slice(0, 40)}@${MESSAGE_ID_DOMAIN}>`;
}

/** The thread of an item: the References root and Thread-Topic shared by every item of its conversation. */
export function threadForItem(item: Item, defaultRegion: string): { references: string; threadTopic: string } {
  return threadOf(item, [item.from, ...item.to].map((p) => viewParticipant(p, defaultRegion)));
}

/** threadForItem, from the views of every participant (the sender first). */
export function threadOf(item: Item, participants: readonly ParticipantView[]): { references: string; threadTopic: string } {
  const conversationId = item.conversationId ?? '';
  if (conversationId !== '') {
    // Prefixed so that a conversation id can never collide with an item id's Message-ID.
    return {
      references: `<${sha256Hex(`conversation:${conversationId}`).slice(0, 40)}@${MESSAGE_ID_DOMAIN}>`,
      threadTopic: sanitizeHeaderText(`O2 conversation ${conversationId}`),
    };
  }
  const numbers = [...new Set(participants.map((p) => p.key))].sort();
  return {
    // JSON keeps the set unambiguous whatever characters a sender id holds.
    references: `<${sha256Hex(`participants:${JSON.stringify(numbers)}`).slice(0, 40)}@${MESSAGE_ID_DOMAIN}>`,
    threadTopic: sanitizeHeaderText(`O2 conversation ${numbers.join(', ')}`),
  };
}

/** Every X-O2Archiver header of the item with its value, in the contract's spelling and order. */
export function archiverHeadersFor(staged: StagedItem): Record<string, string> {
  const { item } = staged;
  const headers: Record<string, string> = {
    [ArchiverHeader.itemId]: sanitizeHeaderText(item.id),
    [ArchiverHeader.itemType]: item.type,
    [ArchiverHeader.direction]: item.direction,
  };
  if (item.conversationId) headers[ArchiverHeader.conversationId] = sanitizeHeaderText(item.conversationId);
  headers[ArchiverHeader.sourceSha256] = staged.sourceSha256;
  if (item.type === 'voice' && item.call) {
    headers[ArchiverHeader.callDuration] = String(item.call.durationSeconds);
    headers[ArchiverHeader.callStatus] = item.call.status;
  }
  return headers;
}

/** Hex SHA-256 of the UTF-8 text: one-shot `crypto.hash` where Node has it (20.12+), a quarter of the cost of a Hash object. */
const sha256Hex: (text: string) => string =
  typeof oneShotHash === 'function'
    ? (text) => oneShotHash('sha256', text, 'hex')
    : (text) => createHash('sha256').update(text, 'utf8').digest('hex');
