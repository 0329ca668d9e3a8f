/**
 * Streams into a block blob through a few block buffers that the whole
 * process shares and reuses. The SDK's uploadStream allocates its buffers
 * anew for every upload (two of 2 MiB here, and a copy of the stream into
 * them): for a large item each was megabytes of garbage that stayed resident
 * until the next full GC, however well the bytes streamed. Here a block is
 * filled, staged while the next fills, and its buffer goes back to the pool.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { BlockBlobClient, BlockBlobUploadOptions } from '@azure/storage-blob';

/** Bytes per block. */
export const BLOCK_BYTES = 2 * 1024 * 1024;
/** Below this, a stream's bytes are kept as they came (and a small blob goes up in one request). */
const SMALL_BYTES = 256 * 1024;
/** Blocks of one upload staged at once. */
export const BLOCKS_IN_FLIGHT = 2;
/** Block buffers kept for reuse: two uploads' worth (the large-item budget lets two large items through at once). */
const POOLED_BUFFERS = 2 * (BLOCKS_IN_FLIGHT + 1);

/** How long the pool outlives the last upload: long enough for the next large item of a batch, not for the stages after. */
const POOL_IDLE_MS = 2_000;

const pool: Buffer[] = [];
let uploading = 0;
let idleTimer: NodeJS.Timeout | undefined;

function takeBuffer(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafe(BLOCK_BYTES);
}

function giveBack(buffer: Buffer): void {
  if (pool.length < POOLED_BUFFERS) pool.push(buffer);
}

function uploadStarted(): void {
  uploading++;
  clearTimeout(idleTimer);
}

/** Once no upload has used the pool for a while, its buffers go (an instance that only imports need not keep them). */
function uploadEnded(): void {
  if (--uploading > 0) return;
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (uploading === 0) pool.length = 0;
  }, POOL_IDLE_MS);
  idleTimer.unref();
}

export interface BlockUploadOptions {
  /** Headers, metadata and tags, as for the SDK's uploads; applied when the block list is committed (or by the single request). */
  upload: BlockBlobUploadOptions;
  /** A stream that ends within one block goes up in one request (Put Blob) rather than a block and a commit. */
  singleRequestWhenSmall?: boolean;
}

/**
 * Uploads the stream into the blob; returns the bytes written. A failing
 * stream or block fails the upload once the blocks in flight have settled;
 * nothing is committed then.
 */
export async function uploadInBlocks(blob: BlockBlobClient, stream: Readable, options: BlockUploadOptions): Promise<number> {
  const prefix = randomUUID();
  const blockIds: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let buffer: Buffer | undefined;
  let filled = 0;
  let total = 0;
  // The first bytes wait in the chunks they came in: a small blob (every SMS's .eml) never takes a block buffer.
  let head: Buffer[] | undefined = [];
  let headBytes = 0;

  const stage = (block: Buffer, length: number, pooled = true) => {
    // Ids of one length, in order (Azure wants every id of a blob the same length).
    const id = Buffer.from(`${prefix}-${String(blockIds.length).padStart(6, '0')}`).toString('base64');
    blockIds.push(id);
    const sent: Promise<void> = blob
      .stageBlock(id, block.subarray(0, length), length, { abortSignal: options.upload.abortSignal })
      .then(
        () => undefined,
        (error: unknown) => {
          failure ??= { error };
        },
      )
      .finally(() => {
        inFlight.delete(sent);
        if (pooled) giveBack(block);
      });
    inFlight.add(sent);
  };

  /** Copies the bytes into block buffers, staging each as it fills (at most BLOCKS_IN_FLIGHT at once). */
  const fill = async (bytes: Buffer) => {
    let offset = 0;
    while (offset < bytes.length) {
      if (failure) throw failure.error;
      buffer ??= takeBuffer();
      const copied = bytes.copy(buffer, filled, offset);
      filled += copied;
      offset += copied;
      if (filled === buffer.length) {
        stage(buffer, filled);
        buffer = undefined;
        filled = 0;
        while (inFlight.size >= BLOCKS_IN_FLIGHT) await Promise.race(inFlight);
      }
    }
  };

  uploadStarted();
  try {
    for await (const chunk of stream) {
      const bytes = asBuffer(chunk as Buffer | Uint8Array | string);
      total += bytes.length;
      if (!head) {
        await fill(bytes);
        continue;
      }
      head.push(bytes);
      headBytes += bytes.length;
      if (headBytes < SMALL_BYTES) continue;
      // Large after all: from here on through block buffers, the first bytes included.
      const first = head;
      head = undefined;
      for (const b of first) await fill(b);
    }
    if (head) {
      const bytes = Buffer.concat(head, headBytes);
      head = undefined;
      if (options.singleRequestWhenSmall) {
        await blob.uploadData(bytes, options.upload);
        return total;
      }
      if (bytes.length > 0) stage(bytes, bytes.length, false);
    } else if (buffer && filled > 0) {
      stage(buffer, filled);
      buffer = undefined;
    }
    while (inFlight.size > 0) await Promise.race(inFlight);
    if (failure) throw failure.error;
    await blob.commitBlockList(blockIds, options.upload);
    return total;
  } finally {
    // On failure too: no buffer goes back to the pool while a request may still read it.
    await Promise.allSettled([...inFlight]);
    if (buffer) giveBack(buffer);
    uploadEnded();
  }
}

/** A chunk as a Buffer: a view of a Uint8Array's bytes (what a web stream yields), not a copy. */
function asBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
