/** The size rule at the 10 MiB boundary, and a 10 MiB item streamed without being read ahead. */
import { Readable } from 'node:stream';
import { convertItem } from '../../shared/stages/convert';
import type { Item, StagedItem } from '../../shared/model/item';
import { OPTIONS, parse, readAll, sha256 } from './support';

const MAX = 10 * 1024 * 1024;
const CHUNK = 64 * 1024;

/** Deterministic bytes of any length, made chunk by chunk. */
function patternChunk(index: number, length: number): Buffer {
  const chunk = Buffer.alloc(length);
  for (let i = 0; i < length; i++) chunk[i] = (index * 31 + i * 7) & 0xff;
  return chunk;
}

function mmsOfSize(mediaBytes: number, text = ''): { staged: StagedItem; bytes: Buffer } {
  const chunks: Buffer[] = [];
  for (let offset = 0, i = 0; offset < mediaBytes; offset += CHUNK, i++) chunks.push(patternChunk(i, Math.min(CHUNK, mediaBytes - offset)));
  const bytes = Buffer.concat(chunks);
  const item: Item = {
    id: `tm-big-${mediaBytes}`,
    type: 'mms',
    direction: 'inbound',
    timestamp: '2026-11-25T10:00:00.000Z',
    from: { phone: '+447700900555' },
    to: [{ phone: '+447700900101', name: 'Alice Smith', email: 'alice.smith@contoso.example' }],
    text,
    media: [{ id: 'big', fileName: 'video.mp4', contentType: 'video/mp4', size: bytes.length, sha256: sha256(bytes) }],
  };
  return { staged: { item, sourceSha256: '0'.repeat(64), sizeInBytes: Buffer.byteLength(text) + bytes.length, stagedAt: item.timestamp }, bytes };
}

/** Serves media in 64 KiB chunks and counts how many have been handed out. */
function chunkedOpener(bytes: Buffer) {
  const state = { opened: 0, chunksServed: 0 };
  const open = async () => {
    state.opened++;
    return Readable.from(
      (function* () {
        for (let offset = 0; offset < bytes.length; offset += CHUNK) {
          state.chunksServed++;
          yield bytes.subarray(offset, offset + CHUNK);
        }
      })(),
      { objectMode: false },
    );
  };
  return { open, state };
}

test('exactly 10 MiB (text and media together) is converted, and the media come back intact', async () => {
  const { staged, bytes } = mmsOfSize(MAX - 4, 'éab'); // é is two bytes in UTF-8
  expect(staged.sizeInBytes).toBe(MAX);
  const { open } = chunkedOpener(bytes);
  const result = await convertItem(staged, open, OPTIONS);
  if (!result.ok) throw new Error(`${result.reason}: ${result.detail}`);
  const parsed = await parse(await readAll(result.eml));
  expect(parsed.attachments).toHaveLength(1);
  expect(parsed.attachments[0].content.length).toBe(bytes.length);
  expect(sha256(parsed.attachments[0].content)).toBe(staged.item.media![0].sha256);
  expect(parsed.text).toBe('éab');
});

test('one byte over 10 MiB is too-large, and no media is opened', async () => {
  const { staged, bytes } = mmsOfSize(MAX + 1);
  const { open, state } = chunkedOpener(bytes);
  const result = await convertItem(staged, open, OPTIONS);
  expect(result).toEqual({ ok: false, reason: 'too-large', detail: `${MAX + 1} bytes > ${MAX}` });
  expect(state.opened).toBe(0);
});

test('the size is measured from the item when staging left none', async () => {
  const { staged } = mmsOfSize(10, 'x'.repeat(MAX));
  const result = await convertItem({ ...staged, sizeInBytes: undefined as unknown as number }, async () => Readable.from([]), OPTIONS);
  expect(result).toEqual({ ok: false, reason: 'too-large', detail: `${MAX + 10} bytes > ${MAX}` });
});

test('the limit comes from the options', async () => {
  const { staged, bytes } = mmsOfSize(1000);
  expect((await convertItem(staged, chunkedOpener(bytes).open, { ...OPTIONS, maxItemBytes: 999 })).ok).toBe(false);
  expect((await convertItem(staged, chunkedOpener(bytes).open, { ...OPTIONS, maxItemBytes: 1000 })).ok).toBe(true);
});

test('a 10 MiB item is streamed: media opened only when read, and not read ahead of the output', async () => {
  const { staged, bytes } = mmsOfSize(MAX);
  const { open, state } = chunkedOpener(bytes);
  const result = await convertItem(staged, open, OPTIONS);
  if (!result.ok) throw new Error(result.detail);
  expect(state.opened).toBe(0);

  // Read the .eml slowly, a piece at a time, noting how far the media source got before the output ended.
  let emlBytes = 0;
  let servedWhenHalfWritten = -1;
  const expectedEml = (bytes.length * 4) / 3; // base64, before line breaks
  for await (const chunk of result.eml) {
    emlBytes += chunk.length;
    if (servedWhenHalfWritten < 0 && emlBytes >= expectedEml / 2) servedWhenHalfWritten = state.chunksServed;
  }
  const totalChunks = Math.ceil(bytes.length / CHUNK);
  expect(state.opened).toBe(1);
  expect(state.chunksServed).toBe(totalChunks);
  // Half-way through the output the source has not been drained: the media flow through, not into memory.
  expect(servedWhenHalfWritten).toBeGreaterThan(0);
  expect(servedWhenHalfWritten).toBeLessThan(totalChunks);
});
