/**
 * Media bodies the emulator serves: inline fixture bytes, and large files made
 * on the fly from a seed so that a 10 MiB item costs no disk and no copies.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

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

/**
 * The bytes of a seeded file, chunk by chunk: the AES-256-CTR keystream of a
 * key derived from the seed, so the same seed and size always give the same
 * bytes, at native speed (a JavaScript PRNG is far slower under jest's vm).
 */
export function* seededChunks(seed: string, size: number): Generator<Buffer> {
  const key = createHash('sha256').update(`seeded-media:${seed}`, 'utf8').digest();
  const keystream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK_BYTES);
  for (let offset = 0; offset < size; offset += CHUNK_BYTES) {
    yield keystream.update(zeros.subarray(0, Math.min(CHUNK_BYTES, size - offset)));
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
