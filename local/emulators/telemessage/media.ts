/**
 * Media bodies the emulator serves: inline fixture bytes, and large files made
 * on the fly from a seed so that a 10 MiB item costs no disk and no copies.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { hashSeed, mulberry32 } from './random';

/** One media file or call recording the emulator can serve. */
export interface EmulatorMedia {
  itemId: string;
  mediaId: string;
  contentType: string;
  size: number;
  sha256: string;
  /** A fresh stream of the bytes, each time it is called. */
  open(): Readable;
}

export interface SeededMediaOptions {
  itemId: string;
  mediaId: string;
  contentType: string;
  size: number;
  seed: string;
}

const CHUNK_BYTES = 64 * 1024;

/** The bytes of a seeded file, chunk by chunk: the same seed and size always give the same bytes. */
export function* seededChunks(seed: string, size: number): Generator<Buffer> {
  const next = mulberry32(hashSeed(seed));
  for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
    const length = Math.min(CHUNK_BYTES, size - offset);
    const words = new Uint32Array(Math.ceil(length / 4));
    for (let i = 0; i < words.length; i++) words[i] = Math.floor(next() * 4294967296);
    yield Buffer.from(words.buffer, 0, length);
  }
}

/** A seeded media file; its SHA-256 is computed once here, streaming, so no copy of the bytes is kept. */
export function seededMedia(options: SeededMediaOptions): EmulatorMedia {
  if (!Number.isInteger(options.size) || options.size < 0) throw new RangeError(`media size must be a whole number of bytes, not ${options.size}`);
  const hash = createHash('sha256');
  for (const chunk of seededChunks(options.seed, options.size)) hash.update(chunk);
  return {
    itemId: options.itemId,
    mediaId: options.mediaId,
    contentType: options.contentType,
    size: options.size,
    sha256: hash.digest('hex'),
    open: () => Readable.from(seededChunks(options.seed, options.size), { objectMode: false }),
  };
}

/** Media held in memory (fixture bytes given inline as base64). */
export function bufferMedia(itemId: string, mediaId: string, contentType: string, bytes: Buffer): EmulatorMedia {
  return {
    itemId,
    mediaId,
    contentType,
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    open: () => Readable.from([bytes], { objectMode: false }),
  };
}
