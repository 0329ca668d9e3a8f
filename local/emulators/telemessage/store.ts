/**
 * The emulator's archive: records ordered by timestamp then id, windows,
 * opaque cursors, and the media of each item. Listings never carry inline
 * bytes (the contract's listing API never does); the media endpoint serves them.
 */
import { createHash } from 'node:crypto';
import { parseIsoInstant, withoutInlineData } from '../../../shared/stages/source/validate';
import { bufferMedia, type EmulatorMedia } from './media';

interface Entry {
  /** The record as served in listings: inline bytes stripped. */
  listed: unknown;
  timeInMs: number;
  id: string;
  /** Insertion order: tells apart two records with the same timestamp and id. */
  seq: number;
}

interface CursorState {
  window: string;
  timeInMs: number;
  id: string;
  seq: number;
}

export interface ArchivePage {
  items: unknown[];
  nextCursor: string | null;
}

/** Thrown for a request the contract calls malformed (the server answers 400). */
export class BadRequest extends Error {}

/** Records and media of the emulated archive. */
export class ArchiveStore {
  private entries: Entry[] = [];
  private readonly media = new Map<string, EmulatorMedia>();
  private seq = 0;
  /** Records left out of every listing because no instant can be read from their timestamp. */
  unplaceable = 0;

  constructor(records: readonly unknown[] = [], media: Iterable<EmulatorMedia> = []) {
    this.add(records, media);
  }

  /** Adds records (late arrivals, say) and extra media bodies. */
  add(records: readonly unknown[], media: Iterable<EmulatorMedia> = []): void {
    for (const record of records) {
      const timeInMs = timeOf(record);
      const id = idOf(record);
      if (timeInMs === null) {
        this.unplaceable += 1;
        continue;
      }
      this.entries.push({ listed: withoutInlineData(record), timeInMs, id, seq: this.seq++ });
      for (const body of inlineMediaOf(record)) this.media.set(mediaKey(body.itemId, body.mediaId), body);
    }
    for (const body of media) this.media.set(mediaKey(body.itemId, body.mediaId), body);
    this.entries.sort(compareEntries);
  }

  get size(): number {
    return this.entries.length;
  }

  findMedia(itemId: string, mediaId: string): EmulatorMedia | undefined {
    return this.media.get(mediaKey(itemId, mediaId));
  }

  /** Forgets a media body, so that the endpoint answers 404 for it (the archive lost it). */
  removeMedia(itemId: string, mediaId: string): boolean {
    return this.media.delete(mediaKey(itemId, mediaId));
  }

  /**
   * One page of `[from, to)` after `cursor`. With `repeatLast`, the page
   * after a cursor begins with the item the cursor points at, as the
   * contract allows (the same id on two pages).
   */
  page(fromText: string, toText: string, pageSize: number, cursor: string | null, repeatLast: boolean): ArchivePage {
    const from = instant(fromText, 'from');
    const to = instant(toText, 'to');
    const window = `${from}|${to}`;
    const items: unknown[] = [];
    let start = this.lowerBound(from);
    if (cursor !== null) {
      const state = decodeCursor(cursor);
      if (state.window !== windowTag(window)) throw new BadRequest('the cursor belongs to another window');
      start = Math.max(start, this.after(state));
      // Never repeat on a page of one: it would be the only item, and paging would never move on.
      if (repeatLast && pageSize > 1) {
        const previous = this.entries.find((e) => e.seq === state.seq);
        if (previous) items.push(previous.listed);
      }
    }
    let last: Entry | null = null;
    let index = start;
    while (index < this.entries.length && this.entries[index].timeInMs < to && items.length < pageSize) {
      last = this.entries[index];
      items.push(last.listed);
      index++;
    }
    const more = index < this.entries.length && this.entries[index].timeInMs < to;
    return { items, nextCursor: more && last ? encodeCursor({ window: windowTag(window), timeInMs: last.timeInMs, id: last.id, seq: last.seq }) : null };
  }

  private lowerBound(timeInMs: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid].timeInMs < timeInMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first entry after the cursor's position in the order. */
  private after(state: CursorState): number {
    const probe: Entry = { listed: null, timeInMs: state.timeInMs, id: state.id, seq: state.seq };
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEntries(this.entries[mid], probe) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function compareEntries(a: Entry, b: Entry): number {
  if (a.timeInMs !== b.timeInMs) return a.timeInMs - b.timeInMs;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return a.seq - b.seq;
}

function instant(text: string, name: string): number {
  const iso = parseIsoInstant(text);
  if (iso === null) throw new BadRequest(`${name} is not an ISO 8601 instant`);
  return Date.parse(iso);
}

/** The instant of a record's timestamp; lenient, because invalid records must still reach the connector. */
function timeOf(record: unknown): number | null {
  const timestamp = (record as { timestamp?: unknown } | null)?.timestamp;
  if (typeof timestamp !== 'string') return null;
  const iso = parseIsoInstant(timestamp);
  const ms = iso !== null ? Date.parse(iso) : Date.parse(timestamp);
  return Number.isFinite(ms) ? ms : null;
}

function idOf(record: unknown): string {
  const id = (record as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : '';
}

function mediaKey(itemId: string, mediaId: string): string {
  return `${itemId}\u0000${mediaId}`;
}

/** Every media descriptor of a record that carries its bytes inline. */
function inlineMediaOf(record: unknown): EmulatorMedia[] {
  const r = record as { id?: unknown; media?: unknown; call?: { recording?: unknown } } | null;
  if (typeof r?.id !== 'string') return [];
  const descriptors = [...(Array.isArray(r.media) ? r.media : []), r.call?.recording];
  const out: EmulatorMedia[] = [];
  for (const d of descriptors as Array<{ id?: unknown; contentType?: unknown; dataBase64?: unknown } | null | undefined>) {
    if (d && typeof d.id === 'string' && typeof d.dataBase64 === 'string') {
      const contentType = typeof d.contentType === 'string' ? d.contentType : 'application/octet-stream';
      out.push(bufferMedia(r.id, d.id, contentType, Buffer.from(d.dataBase64, 'base64')));
    }
  }
  return out;
}

function windowTag(window: string): string {
  return createHash('sha256').update(window).digest('base64url').slice(0, 12);
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify([state.window, state.timeInMs, state.id, state.seq]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): CursorState {
  try {
    const [window, timeInMs, id, seq] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof window === 'string' && typeof timeInMs === 'number' && typeof id === 'string' && typeof seq === 'number') {
      return { window, timeInMs, id, seq };
    }
  } catch {
    // Falls through to the one answer for every cursor the emulator did not make.
  }
  throw new BadRequest('the cursor is not one this archive gave out');
}
