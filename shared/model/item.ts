/**
 * One O2 item as the connector holds it once validated
 * (contracts/telemessage-item.schema.json), and the claim-check shapes that
 * point at it in storage.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

export type ItemType = 'sms' | 'mms' | 'voice';
export type Direction = 'inbound' | 'outbound';
export type CallStatus = 'answered' | 'missed' | 'rejected' | 'voicemail';

export interface Participant {
  /** As the source wrote it: E.164, a national or international form, or a sender id. */
  phone: string;
  email?: string | null;
  name?: string | null;
}

export interface MediaDescriptor {
  id: string;
  fileName?: string | null;
  contentType: string;
  size: number;
  sha256: string;
  /** Inline bytes (item files and fixtures); stripped once staged. */
  dataBase64?: string;
}

export interface CallDetails {
  durationSeconds: number;
  status: CallStatus;
  recording?: MediaDescriptor | null;
}

export interface Item {
  id: string;
  type: ItemType;
  direction: Direction;
  /** Normalised to UTC, ISO 8601 with `Z`. */
  timestamp: string;
  conversationId?: string | null;
  from: Participant;
  to: Participant[];
  text?: string | null;
  media?: MediaDescriptor[];
  call?: CallDetails;
}

/** An item as staged in blob storage: the normalised item plus what staging proved about it. */
export interface StagedItem {
  item: Item;
  /** Hex SHA-256 of the RFC 8785 canonical JSON of the record as received, without `dataBase64`. */
  sourceSha256: string;
  /** The contract's size: UTF-8 bytes of text plus every media and recording. */
  sizeInBytes: number;
  stagedAt: string;
}

/** Opens the bytes of one of an item's media (or its call recording) by media id. */
export type MediaOpener = (mediaId: string) => Promise<Readable>;

/** A half-open time window `[from, to)`, ISO 8601 UTC. */
export interface TimeWindow {
  from: string;
  to: string;
}

/** Stable storage key of an item: hex SHA-256 of its id (ids may hold any character). */
export function itemKey(itemId: string): string {
  return createHash('sha256').update(itemId, 'utf8').digest('hex');
}

/** The key prefix of a record with no usable id, keyed by the SHA-256 of its JSON so that it counts once; such an item can never be staged. */
export const RAW_KEY_PREFIX = 'raw-';

/** True when `key` is a record's with no usable id (`RAW_KEY_PREFIX`): nothing of it is staged, so nothing is re-driven or kept. */
export function isRawKey(key: string): boolean {
  return key.startsWith(RAW_KEY_PREFIX);
}

/** Every media descriptor of an item, its call recording included. */
export function allMedia(item: Pick<Item, 'media' | 'call'>): MediaDescriptor[] {
  const media = [...(item.media ?? [])];
  if (item.call?.recording) media.push(item.call.recording);
  return media;
}

/** The contract's size of an item: UTF-8 length of the text plus every media and recording. */
export function itemSizeInBytes(item: Pick<Item, 'text' | 'media' | 'call'>): number {
  const textBytes = item.text ? Buffer.byteLength(item.text, 'utf8') : 0;
  return allMedia(item).reduce((sum, m) => sum + m.size, textBytes);
}
