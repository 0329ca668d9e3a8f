/** Helpers for the conversion tests: fixture items as staged items, inline media, and reading a .eml back. */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { canonicalize } from 'json-canonicalize';
import { simpleParser, type ParsedMail } from 'mailparser';
import { itemSizeInBytes, type Item, type MediaOpener, type StagedItem } from '../../shared/model/item';
import type { ConvertOptions } from '../../shared/stages/convert';

export const FIXTURE_DIR = path.resolve(__dirname, '../../fixtures/items');

export const OPTIONS: ConvertOptions = {
  maxItemBytes: 10 * 1024 * 1024,
  displayTimeZone: 'Europe/London',
  defaultRegion: 'GB',
};

/** Every fixture item file name. */
export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).sort();
}

/** A fixture record as parsed from its file. */
export function loadFixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(FIXTURE_DIR, name), 'utf8'));
}

/** Hex SHA-256 of the canonical JSON without dataBase64, computed here independently of the code under test. */
export function sourceShaOf(raw: unknown): string {
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'dataBase64').map(([k, x]) => [k, strip(x)]))
        : v;
  return sha256(canonicalize(strip(raw)));
}

/** A staged item built straight from a record (the record is taken as valid). */
export function stage(raw: Record<string, unknown>): StagedItem {
  const item = raw as unknown as Item;
  return { item, sourceSha256: sourceShaOf(raw), sizeInBytes: itemSizeInBytes(item), stagedAt: '2026-11-26T00:00:00.000Z' };
}

/** Opens media from their inline `dataBase64`. */
export function inlineOpener(item: Item): MediaOpener {
  const media = [...(item.media ?? []), ...(item.call?.recording ? [item.call.recording] : [])];
  return async (id) => {
    const m = media.find((x) => x.id === id);
    if (!m?.dataBase64) throw new Error(`no inline media ${id}`);
    return Readable.from([Buffer.from(m.dataBase64, 'base64')]);
  };
}

/** All bytes of a stream. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** Parses a .eml with mailparser. */
export function parse(eml: Buffer): Promise<ParsedMail> {
  return simpleParser(eml, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
}

/** Every line of a message, split at CRLF. */
export function lines(eml: Buffer): string[] {
  return eml.toString('latin1').split('\r\n');
}

/** The raw header block of a message (before the first empty line), unfolded. */
export function rawHeaders(eml: Buffer): string[] {
  const head = eml.toString('latin1').split('\r\n\r\n')[0];
  return head.replace(/\r\n[ \t]/g, ' ').split('\r\n');
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
