import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { itemKey, type Item, type StagedItem } from '../shared/model/item';
import { createTeleMessageSource, validateRecord } from '../shared/stages/source';
import { createStagingStore, type StagingStore } from '../shared/stages/staging/store';
import { seededMedia, startTeleMessageEmulator, type TeleMessageEmulator } from '../local/emulators/telemessage';
import { fixtureItem, quickRetry, readAll } from './source/helpers';
import { testStorage, uniqueName } from './support/storage';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function validItem(raw: unknown): { item: Item; sourceSha256: string } {
  const result = validateRecord(raw);
  if (!result.ok) throw new Error(result.detail);
  return result;
}

/** The item as the listing API sends it: no inline bytes. */
function listed(name: string): Record<string, unknown> {
  const raw = fixtureItem(name);
  for (const m of (raw.media as Array<Record<string, unknown>> | undefined) ?? []) delete m.dataBase64;
  const recording = (raw.call as { recording?: Record<string, unknown> } | undefined)?.recording;
  if (recording) delete recording.dataBase64;
  return raw;
}

let store: StagingStore;
let container: ContainerClient;
let emulator: TeleMessageEmulator | undefined;

beforeEach(async () => {
  container = testStorage().container(uniqueName('staging'));
  store = createStagingStore(container);
  await store.ensure();
});

afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

async function sourceOver(items: unknown[], media: ReturnType<typeof seededMedia>[] = []) {
  emulator = await startTeleMessageEmulator({ items, media });
  return createTeleMessageSource({
    baseUrl: emulator.url, username: emulator.username, password: emulator.password, pageSize: 100, retry: quickRetry, timeScale: 0.01,
  });
}

describe('staging store', () => {
  it('stages inline media, and keeps no inline bytes in the staged item its batch will hold', async () => {
    const { item, sourceSha256 } = validItem(fixtureItem('mms-photo'));
    const result = await store.stageItem(item, sourceSha256, null);
    expect(result.ok).toBe(true);
    const key = itemKey('tm-mms-0001');
    const batch = await store.readBatch<{ items: StagedItem[] }>(await store.putBatch('run-s', 'staged', 'page-1', { items: [result.ok ? result.staged : undefined] }));
    const staged = batch.items[0];
    expect(JSON.stringify(staged)).not.toContain('dataBase64');
    expect(staged).toMatchObject({ sourceSha256, sizeInBytes: Buffer.byteLength('Signed copy attached') + 73 + 72 });
    expect(staged.item.media?.map((m) => m.id)).toEqual(['m1', 'm2']);
    const png = await readAll(await store.openMedia(key, 'm1'));
    expect(sha256(png)).toBe(item.media?.[0].sha256);
    expect(store.mediaBlobName(key, 'm1')).toBe(`items/${key}/media/${sha256(Buffer.from('m1'))}`);
  });

  it('refuses inline media whose checksum does not match, and stages nothing', async () => {
    const raw = fixtureItem('voice-answered-recorded');
    (raw.call as { recording: { sha256: string } }).recording.sha256 = '0'.repeat(64);
    const { item, sourceSha256 } = validItem(raw);
    const result = await store.stageItem(item, sourceSha256, null);
    expect(result).toMatchObject({ ok: false, reason: 'media-checksum-mismatch', detail: expect.stringContaining('r1') });
    const stagedMedia: string[] = [];
    for await (const blob of container.listBlobsFlat({ prefix: `items/${itemKey(item.id)}/` })) stagedMedia.push(blob.name);
    expect(stagedMedia).toEqual([]);
  });

  it('downloads media from the source, verified, once however often the item is staged', async () => {
    const source = await sourceOver([fixtureItem('mms-photo')]);
    const { item, sourceSha256 } = validItem(listed('mms-photo'));
    expect(await store.stageItem(item, sourceSha256, source)).toMatchObject({ ok: true });
    expect(await store.stageItem(item, sourceSha256, source)).toMatchObject({ ok: true });
    expect(emulator?.stats.mediaDownloads).toBe(2); // two media, each downloaded once
    const vcard = await readAll(await store.openMedia(itemKey(item.id), 'm2'));
    expect(vcard.toString('utf8')).toContain('BEGIN:VCARD');
  });

  it('refuses a download whose SHA-256 does not match, and deletes the blob', async () => {
    const source = await sourceOver([fixtureItem('mms-photo')]);
    const record = listed('mms-photo');
    (record.media as Array<{ sha256: string }>)[1].sha256 = 'f'.repeat(64);
    const { item, sourceSha256 } = validItem(record);
    const result = await store.stageItem(item, sourceSha256, source);
    expect(result).toMatchObject({ ok: false, reason: 'media-checksum-mismatch', detail: expect.stringContaining('m2') });
    await expect(store.openMedia(itemKey(item.id), 'm2')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses a download longer than its descriptor says', async () => {
    const source = await sourceOver([fixtureItem('mms-photo')]);
    const record = listed('mms-photo');
    (record.media as Array<{ size: number }>)[0].size = 10;
    const { item, sourceSha256 } = validItem(record);
    const result = await store.stageItem(item, sourceSha256, source);
    expect(result).toMatchObject({ ok: false, reason: 'media-checksum-mismatch', detail: expect.stringContaining('10 bytes') });
    await expect(store.openMedia(itemKey(item.id), 'm1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reports media the archive no longer has as media-missing', async () => {
    const source = await sourceOver([fixtureItem('voice-answered-recorded')]);
    emulator?.removeMedia('tm-call-0001', 'r1');
    const { item, sourceSha256 } = validItem(listed('voice-answered-recorded'));
    expect(await store.stageItem(item, sourceSha256, source)).toMatchObject({ ok: false, reason: 'media-missing' });
    // Without inline bytes and without a source there is nothing to stage from either.
    expect(await store.stageItem(item, sourceSha256, null)).toMatchObject({ ok: false, reason: 'media-missing' });
  });

  it('streams a large download into the blob', async () => {
    const body = seededMedia({ itemId: 'tm-big', mediaId: 'v1', contentType: 'video/mp4', size: 9 * 1024 * 1024 + 7, seed: 'staging-test' });
    const record = {
      id: 'tm-big', type: 'mms', direction: 'outbound', timestamp: '2026-11-25T14:00:00Z',
      from: { phone: '+447700900101' }, to: [{ phone: '+447700900560' }], text: null,
      media: [{ id: 'v1', fileName: 'big.mp4', contentType: 'video/mp4', size: body.size, sha256: body.sha256 }],
    };
    const source = await sourceOver([record], [body]);
    const { item, sourceSha256 } = validItem(record);
    expect(await store.stageItem(item, sourceSha256, source)).toMatchObject({ ok: true, staged: { sizeInBytes: body.size } });
    const stored = await readAll(await store.openMedia(itemKey('tm-big'), 'v1'));
    expect(stored.length).toBe(body.size);
    expect(sha256(stored)).toBe(body.sha256);
    // Range by range into one reused buffer, as an upload session reads a large file: the same bytes.
    const into = Buffer.alloc(4 * 1024 * 1024);
    const ranges: Buffer[] = [];
    for (let start = 0; start < body.size; start += into.length) {
      const range = await store.readMediaRange(itemKey('tm-big'), 'v1', start, Math.min(body.size, start + into.length), into);
      expect(range.buffer).toBe(into.buffer);
      ranges.push(Buffer.from(range));
    }
    expect(sha256(Buffer.concat(ranges))).toBe(body.sha256);
    expect((await store.readMediaRange(itemKey('tm-big'), 'v1', 5, 12)).equals(stored.subarray(5, 12))).toBe(true);
  });

  it('keeps raw pages and invalid records', async () => {
    const records = [fixtureItem('sms-outbound-internal'), { nonsense: true }];
    const name = await store.putRawPage('run-1', 'slice0000-page0001', records);
    expect(name).toBe('runs/run-1/pages/slice0000-page0001.json');
    expect(await store.readRawPage(name)).toEqual(records);

    const first = await store.putInvalidRecord('run-1', { nonsense: true }, 'schema: record must have required property id');
    const again = await store.putInvalidRecord('run-1', { nonsense: true }, 'schema: record must have required property id');
    expect(first).toMatch(/^runs\/run-1\/invalid\/[0-9a-f]{64}\.json$/);
    expect(again).toBe(first);
  });

  it('keeps blobs beside an item, from strings, buffers and streams', async () => {
    const key = itemKey('tm-sms-0001');
    expect(await store.itemBlobExists(key, 'message.eml')).toBe(false);
    expect(await store.putItemBlob(key, 'message.eml', Readable.from([Buffer.from('From: a\r\n'), Buffer.from('\r\nbody')]), 'message/rfc822')).toBe(15);
    expect(await store.itemBlobExists(key, 'message.eml')).toBe(true);
    expect((await readAll(await store.openItemBlob(key, 'message.eml'))).toString()).toBe('From: a\r\n\r\nbody');
    expect(await store.putItemBlob(key, 'message.eml', 'From: é', 'message/rfc822')).toBe(8);
    expect((await store.readItemBlob(key, 'message.eml')).toString('utf8')).toBe('From: é');
    await expect(store.readItemBlob(itemKey('nobody'), 'message.eml')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.readBatch('runs/run-1/staged/none.json')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
