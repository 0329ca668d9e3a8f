/**
 * The media stream under an attachment: opened only when read, one at a time,
 * no further ahead of its reader than backpressure allows, and failing with
 * the right error whatever goes wrong underneath.
 */
import { Readable } from 'node:stream';
import { convertItem, verifiedMediaStream } from '../../shared/stages/convert';
import { ArchiverError, isArchiverError } from '../../shared/model/errors';
import type { Item, MediaDescriptor, MediaOpener } from '../../shared/model/item';
import { OPTIONS, parse, readAll, sha256, stage } from './support';

const CHUNK = 64 * 1024;

/** Deterministic bytes: `size` of them, different at every offset. */
function bytesOf(size: number, seed = 7): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed + (i >> 8)) & 0xff;
  return bytes;
}

/** A source that hands out `bytes` in chunks only as it is read, and counts what it handed out. */
function countingSource(bytes: Buffer, chunkSize = CHUNK): { stream: Readable; handedOut: () => number; destroyed: () => boolean } {
  let offset = 0;
  const stream = new Readable({
    read() {
      if (offset >= bytes.length) return void this.push(null);
      const chunk = bytes.subarray(offset, offset + chunkSize);
      offset += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, handedOut: () => offset, destroyed: () => stream.destroyed };
}

function descriptor(id: string, bytes: Buffer): Pick<MediaDescriptor, 'id' | 'size' | 'sha256'> {
  return { id, size: bytes.length, sha256: sha256(bytes) };
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function failureOf(stream: Readable): Promise<unknown> {
  return readAll(stream).then(
    () => null,
    (e: unknown) => e,
  );
}

test('many chunks come through whole and in order', async () => {
  const bytes = bytesOf(3 * 1024 * 1024 + 17);
  const stream = verifiedMediaStream(async () => countingSource(bytes, 10_000).stream, descriptor('m1', bytes));
  expect((await readAll(stream)).equals(bytes)).toBe(true);
});

test('a source in string chunks is hashed and passed on as its bytes', async () => {
  const text = 'BEGIN:VCARD\r\nFN:Zoë 測試\r\nEND:VCARD\r\n';
  const bytes = Buffer.from(text, 'utf8');
  const stream = verifiedMediaStream(async () => Readable.from([text.slice(0, 10), text.slice(10)], { objectMode: true }), descriptor('v1', bytes));
  expect((await readAll(stream)).equals(bytes)).toBe(true);
});

test('the media is opened only when first read', async () => {
  const bytes = bytesOf(100);
  const opened: string[] = [];
  const stream = verifiedMediaStream(async (id) => {
    opened.push(id);
    return Readable.from([bytes]);
  }, descriptor('m1', bytes));
  await tick();
  expect(opened).toEqual([]);
  expect((await readAll(stream)).equals(bytes)).toBe(true);
  expect(opened).toEqual(['m1']);
});

test('a slow reader holds the source back: it never runs far ahead of what was read', async () => {
  const bytes = bytesOf(8 * 1024 * 1024);
  const source = countingSource(bytes);
  const stream = verifiedMediaStream(async () => source.stream, descriptor('big', bytes));
  let received = 0;
  stream.on('data', (chunk: Buffer) => {
    received += chunk.length;
    stream.pause();
  });
  for (let i = 0; i < 20; i++) await tick();
  expect(received).toBeGreaterThan(0);
  // Our buffer and the source's, a few chunks each: nowhere near the 8 MiB on offer.
  expect(source.handedOut() - received).toBeLessThan(512 * 1024);
  stream.destroy();
  await tick();
  expect(source.destroyed()).toBe(true);
});

test('fewer bytes than the descriptor says fail with MEDIA_CHECKSUM_MISMATCH', async () => {
  const bytes = bytesOf(1000);
  const stream = verifiedMediaStream(async () => Readable.from([bytes.subarray(0, 999)]), descriptor('m1', bytes));
  expect(isArchiverError(await failureOf(stream), 'MEDIA_CHECKSUM_MISMATCH')).toBe(true);
});

test('more bytes than the descriptor says stop the source and fail', async () => {
  const bytes = bytesOf(CHUNK * 2);
  const source = countingSource(Buffer.concat([bytes, bytesOf(CHUNK * 20, 9)]));
  const stream = verifiedMediaStream(async () => source.stream, descriptor('m1', bytes));
  expect(isArchiverError(await failureOf(stream), 'MEDIA_CHECKSUM_MISMATCH')).toBe(true);
  await tick();
  expect(source.destroyed()).toBe(true);
  expect(source.handedOut()).toBeLessThan(CHUNK * 10);
});

test('an opener that fails passes its error on', async () => {
  const bytes = bytesOf(10);
  const stream = verifiedMediaStream(async () => {
    throw new ArchiverError('MEDIA_MISSING', 'media m1 is gone');
  }, descriptor('m1', bytes));
  expect(isArchiverError(await failureOf(stream), 'MEDIA_MISSING')).toBe(true);
});

test('a source that fails midway passes its error on', async () => {
  const bytes = bytesOf(CHUNK * 4);
  let sent = 0;
  const source = new Readable({
    read() {
      if (sent++ === 2) return void this.destroy(new Error('connection reset'));
      this.push(bytes.subarray(0, CHUNK));
    },
  });
  const stream = verifiedMediaStream(async () => source, descriptor('m1', bytes));
  expect(await failureOf(stream)).toMatchObject({ message: 'connection reset' });
});

test('a source that closes before its end is a failure, not a short attachment', async () => {
  const bytes = bytesOf(CHUNK * 4);
  let sent = 0;
  const source = new Readable({
    read() {
      if (sent++ === 1) return void this.destroy();
      this.push(bytes.subarray(0, CHUNK));
    },
  });
  const stream = verifiedMediaStream(async () => source, descriptor('m1', bytes));
  expect(await failureOf(stream)).toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
});

test('in a message, each attachment is opened only once the one before it is read', async () => {
  const first = bytesOf(300 * 1024, 1);
  const second = bytesOf(200 * 1024, 2);
  const item: Item = {
    id: 'tm-media-order',
    type: 'mms',
    direction: 'outbound',
    timestamp: '2026-11-25T10:00:00.000Z',
    from: { phone: '+447700900101', name: 'Alice Smith' },
    to: [{ phone: '+447700900555' }],
    text: 'two files',
    media: [
      { fileName: 'a.bin', contentType: 'application/octet-stream', ...descriptor('a', first) },
      { fileName: 'b.bin', contentType: 'application/octet-stream', ...descriptor('b', second) },
    ],
  };
  const events: string[] = [];
  const openMedia: MediaOpener = async (id) => {
    events.push(`open ${id}`);
    const source = countingSource(id === 'a' ? first : second, 16 * 1024).stream;
    source.once('end', () => events.push(`end ${id}`));
    return source;
  };
  const result = await convertItem(stage(item as never), openMedia, OPTIONS);
  if (!result.ok) throw new Error(result.detail);
  expect(events).toEqual([]);
  const parsed = await parse(await readAll(result.eml));
  expect(events).toEqual(['open a', 'end a', 'open b', 'end b']);
  expect(parsed.attachments.map((a) => [a.filename, a.content.equals(a.filename === 'a.bin' ? first : second)])).toEqual([
    ['a.bin', true],
    ['b.bin', true],
  ]);
});
