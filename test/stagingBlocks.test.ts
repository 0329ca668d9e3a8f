/**
 * Streamed block uploads through the process's shared block buffers
 * (shared/stages/staging/blocks.ts): the blob holds exactly the stream's
 * bytes however they were chunked, a small stream goes up in one request,
 * and a stream that fails leaves nothing committed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { BLOCK_BYTES, uploadInBlocks } from '../shared/stages/staging/blocks';
import { testStorage, uniqueName } from './support/storage';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** The bytes as a stream of uneven chunks, some of them Uint8Array views (as a web stream yields). */
function chunked(bytes: Buffer, sizes = [1, 65_536, 7, 300_001, 16_384]): Readable {
  return Readable.from((function* () {
    let i = 0;
    for (let at = 0; at < bytes.length; i++) {
      const n = sizes[i % sizes.length];
      const slice = bytes.subarray(at, at + n);
      yield i % 2 ? new Uint8Array(slice.buffer, slice.byteOffset, slice.length) : slice;
      at += n;
    }
  })());
}

let container: ContainerClient;

beforeAll(async () => {
  container = testStorage().container(uniqueName('blocks'));
  await container.createIfNotExists();
});

describe('block uploads', () => {
  it('writes exactly the stream, in blocks, with the headers, metadata and tags asked for; the same buffers serve the next uploads', async () => {
    for (const size of [2 * BLOCK_BYTES + 12_345, BLOCK_BYTES, 300_000]) {
      const bytes = randomBytes(size);
      const blob = container.getBlockBlobClient(uniqueName('large'));
      const written = await uploadInBlocks(blob, chunked(bytes), {
        upload: { blobHTTPHeaders: { blobContentType: 'video/mp4' }, metadata: { kind: 'media' }, tags: { state: 'settled' } },
      });
      expect(written).toBe(size);
      const stored = await blob.downloadToBuffer();
      expect(stored.length).toBe(size);
      expect(sha256(stored)).toBe(sha256(bytes));
      const props = await blob.getProperties();
      expect(props.contentType).toBe('video/mp4');
      expect(props.metadata).toEqual({ kind: 'media' });
      expect((await blob.getTags()).tags).toEqual({ state: 'settled' });
      expect((await blob.getBlockList('committed')).committedBlocks?.length).toBe(Math.ceil(size / BLOCK_BYTES));
    }
  });

  it('sends a small stream in one request when asked, else as one block', async () => {
    const bytes = randomBytes(5_000);
    const single = container.getBlockBlobClient(uniqueName('small'));
    expect(await uploadInBlocks(single, chunked(bytes, [1_000]), { upload: {}, singleRequestWhenSmall: true })).toBe(5_000);
    expect((await single.downloadToBuffer()).equals(bytes)).toBe(true);
    expect((await single.getBlockList('committed')).committedBlocks ?? []).toHaveLength(0);

    const blocked = container.getBlockBlobClient(uniqueName('small'));
    expect(await uploadInBlocks(blocked, chunked(bytes, [1_000]), { upload: {} })).toBe(5_000);
    expect((await blocked.downloadToBuffer()).equals(bytes)).toBe(true);
    expect((await blocked.getBlockList('committed')).committedBlocks).toHaveLength(1);

    const empty = container.getBlockBlobClient(uniqueName('empty'));
    expect(await uploadInBlocks(empty, Readable.from([]), { upload: {}, singleRequestWhenSmall: true })).toBe(0);
    expect((await empty.getProperties()).contentLength).toBe(0);
  });

  it('commits nothing when the stream fails part way, and the next upload still writes its own bytes', async () => {
    const blob = container.getBlockBlobClient(uniqueName('broken'));
    const bytes = randomBytes(3 * BLOCK_BYTES);
    const broken = Readable.from((async function* () {
      yield bytes.subarray(0, 2 * BLOCK_BYTES + 5);
      throw new Error('the download broke');
    })());
    await expect(uploadInBlocks(blob, broken, { upload: {} })).rejects.toThrow('the download broke');
    expect(await blob.exists()).toBe(false);

    const after = container.getBlockBlobClient(uniqueName('after'));
    const other = randomBytes(2 * BLOCK_BYTES + 1);
    await uploadInBlocks(after, chunked(other), { upload: {} });
    expect(sha256(await after.downloadToBuffer())).toBe(sha256(other));
  });
});
