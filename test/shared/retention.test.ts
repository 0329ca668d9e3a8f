/**
 * Retention marks on real blobs (Azurite): what a run writes is tagged for
 * the lifecycle rule as it is written; what it reuses is untagged when taken
 * and, when the run settles, touched (last-modified moves to the settling,
 * metadata kept) and tagged again; a run longer than the rule's margin
 * touches and tags everything; nothing outside the run and its items is
 * marked. And a whole run, driven by the local driver, leaves its blobs
 * marked and says so in its log, with the line the alert rules read.
 */
import { ContainerClient } from '@azure/storage-blob';
import { beginRedrive } from '../../shared/run/redrive';
import { itemKey } from '../../shared/model/item';
import { ContainerNames, RetentionTag } from '../../shared/platform/names';
import { createRetentionMarker, isSettled, itemPrefix, SETTLED_AT_METADATA } from '../../shared/stages/staging/retention';
import { RunStore } from '../../shared/run/runs';
import { createStagingStore } from '../../shared/stages/staging/store';
import { validateRecord } from '../../shared/stages/source';
import { LogEvents, parseEventLine } from '../../shared/platform/logging';
import { createLocalRunner } from '../../local/runner';
import { fixtureItem } from '../source/helpers';
import { sampleEmail } from '../import/fakeGraph';
import { SAMPLE_WINDOW, startTestStack, type TestStack } from '../support/stack';
import { testStorage, uniqueName } from '../support/storage';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function put(container: ContainerClient, name: string, metadata: Record<string, string> = {}): Promise<Date> {
  const response = await container.getBlockBlobClient(name).upload('x', 1, { metadata });
  return response.lastModified!;
}

async function state(container: ContainerClient, name: string) {
  const blob = container.getBlobClient(name);
  const [properties, tags] = await Promise.all([blob.getProperties(), blob.getTags()]);
  return { lastModified: properties.lastModified!, metadata: properties.metadata ?? {}, tags: tags.tags };
}

describe('retention marks on blobs', () => {
  const storage = testStorage();
  let staging: ContainerClient;
  let runs: ContainerClient;

  beforeEach(async () => {
    staging = storage.container(uniqueName('staging'));
    runs = storage.container(uniqueName('runs'));
    await Promise.all([staging.create(), runs.create()]);
  });

  it('a run longer than the margin touches, then tags, every blob of the run and of its items, keeping their metadata, and nothing else', async () => {
    const key = 'a'.repeat(64);
    const other = 'b'.repeat(64);
    const before = await put(staging, `items/${key}/media/m1`, { sha256: 'f'.repeat(64) });
    await put(staging, `items/${key}/message.eml`);
    await put(staging, `runs/run-1/pages/s0-1-0.json`);
    await put(runs, 'run-1/units/mbx.json');
    await put(staging, `items/${other}/item.json`);
    await put(staging, 'runs/run-10/pages/s0-1-0.json');
    await sleep(1100); // last-modified times are to the second
    const marker = createRetentionMarker({ staging, runs });
    const items = [{ itemKey: key, type: 'mms' }, { itemKey: key, type: 'mms' }, { itemKey: 'raw-' + 'c'.repeat(64), type: 'unknown' }];
    // The run settles more than a day after it started: what it wrote may be older than the margin, so each is touched, then tagged.
    const result = await marker.settleRun({ runId: 'run-1', items, startedAt: '2027-01-01T03:00:00.000Z', settledAt: '2027-01-02T03:04:05.000Z' });
    expect(result).toEqual({ items: 1, blobs: 4 });

    const media = await state(staging, `items/${key}/media/m1`);
    expect(media.tags).toEqual({ [RetentionTag.name]: RetentionTag.settled });
    expect(media.metadata).toEqual({ sha256: 'f'.repeat(64), [SETTLED_AT_METADATA]: '2027-01-02T03:04:05.000Z' });
    expect(media.lastModified.getTime()).toBeGreaterThan(before.getTime());
    for (const [container, name] of [[staging, `items/${key}/message.eml`], [staging, 'runs/run-1/pages/s0-1-0.json'], [runs, 'run-1/units/mbx.json']] as const) {
      expect(isSettled((await state(container, name)).tags)).toBe(true);
    }
    // Another item and a run whose id starts the same are left alone.
    expect((await state(staging, `items/${other}/item.json`)).tags).toEqual({});
    expect((await state(staging, 'runs/run-10/pages/s0-1-0.json')).tags).toEqual({});
  });

  it('leaves alone the .eml a run that settles within a day wrote itself, tagged as it was written', async () => {
    const store = createStagingStore(staging);
    const key = 'e'.repeat(64);
    await store.putItemBlob(key, 'message.eml', 'eml', 'message/rfc822');
    const written = await state(staging, `items/${key}/message.eml`);
    expect(isSettled(written.tags)).toBe(true);
    await sleep(1100);
    const settledAt = new Date().toISOString();
    const result = await createRetentionMarker({ staging, runs }).settleRun({ runId: 'run-sms', items: [{ itemKey: key, type: 'sms' }], startedAt: new Date(Date.now() - 60_000).toISOString(), settledAt });
    expect(result).toEqual({ items: 0, blobs: 0 });
    const eml = await state(staging, `items/${key}/message.eml`);
    expect(isSettled(eml.tags)).toBe(true);
    expect(eml.metadata[SETTLED_AT_METADATA]).toBeUndefined();
    expect(eml.lastModified.getTime()).toBe(written.lastModified.getTime());
    // A re-drive's .eml is an earlier run's: touched, then tagged, however short the re-drive.
    const redrive = await createRetentionMarker({ staging, runs }).settleRun({ runId: 'run-redrive', items: [{ itemKey: key, type: 'sms' }], startedAt: settledAt, settledAt: new Date(Date.now() + 2 * 86_400_000).toISOString(), reusedItems: true });
    expect(redrive).toEqual({ items: 1, blobs: 1 });
    const touched = await state(staging, `items/${key}/message.eml`);
    expect(touched.metadata[SETTLED_AT_METADATA]).toBeDefined();
    expect(touched.lastModified.getTime()).toBeGreaterThan(written.lastModified.getTime());
    expect(isSettled(touched.tags)).toBe(true);
  });

  it('staging an item again takes the tag off the media it reuses; the .eml conversion writes again is tagged as written', async () => {
    const store = createStagingStore(staging);
    const validated = validateRecord(fixtureItem('mms-photo'));
    if (!validated.ok) throw new Error(validated.detail);
    const key = itemKey(validated.item.id);
    expect((await store.stageItem(validated.item, validated.sourceSha256, null)).ok).toBe(true);
    await store.putItemBlob(key, 'message.eml', 'eml', 'message/rfc822');
    // Media staged by the run carry no tag until it settles; the .eml carries it from the start.
    const untagged: string[] = [];
    for await (const b of staging.listBlobsFlat({ prefix: itemPrefix(key), includeTags: true })) if (!isSettled(b.tags)) untagged.push(b.name);
    expect(untagged).toHaveLength(2);
    expect(untagged.every((n) => n.startsWith(`items/${key}/media/`))).toBe(true);
    const result = await createRetentionMarker({ staging, runs }).settleRun({ runId: 'run-a', items: [{ itemKey: key, type: 'mms' }], startedAt: '2027-01-01T00:00:00.000Z', settledAt: '2027-01-01T00:00:00.000Z' });
    expect(result).toEqual({ items: 1, blobs: 2 });
    const names: string[] = [];
    for await (const b of staging.listBlobsFlat({ prefix: itemPrefix(key), includeTags: true })) {
      expect(isSettled(b.tags)).toBe(true);
      names.push(b.name);
    }
    expect(names.length).toBe(3); // two media, message.eml
    // The media are already staged and are not written again: staging them again untags them.
    expect((await store.stageItem(validated.item, validated.sourceSha256, null)).ok).toBe(true);
    await store.putItemBlob(key, 'message.eml', 'eml again', 'message/rfc822');
    for await (const b of staging.listBlobsFlat({ prefix: itemPrefix(key), includeTags: true })) {
      expect({ name: b.name, settled: isSettled(b.tags) }).toEqual({ name: b.name, settled: b.name.endsWith('message.eml') });
    }
  });

  it('a re-drive takes the tag off the items it queues', async () => {
    const store = createStagingStore(staging);
    const table = () => storage.table(uniqueName('t'));
    const runStore = new RunStore({ runs: table(), items: table(), units: table() });
    await runStore.ensure();
    const key = itemKey('tm-9');
    await put(staging, `items/${key}/media/m1`);
    await put(staging, `items/${key}/message.eml`);
    // The earlier run converted the item (its converted batch holds the email) and found no mailbox for it.
    const email = sampleEmail('tm-9');
    const converted = await store.putBatch('run-old', 'converted', 'page-0', { runId: 'run-old', items: [{ itemKey: key, item: { id: 'tm-9', type: 'sms' }, email }] });
    await runStore.claimItems('run-old', [{ itemKey: key, itemId: 'tm-9', type: 'sms' }], 'm');
    await runStore.setItemOutcome('run-old', { itemKey: key, itemId: 'tm-9', type: 'sms', outcome: 'unmapped', converted });
    await createRetentionMarker({ staging, runs }).settleRun({ runId: 'run-old', items: [{ itemKey: key, type: 'mms' }], startedAt: '2027-01-01T00:00:00.000Z', settledAt: '2027-01-01T00:00:00.000Z' });
    const sent: unknown[] = [];
    const queue = { send: async (m: unknown) => void sent.push(m) } as never;
    const result = await beginRedrive({ runId: 'run-new', redriveOf: 'run-old' }, { runs: runStore, queues: { convert: queue, map: queue }, staging: store });
    expect(result).toMatchObject({ items: 1, toMap: 1 });
    for await (const b of staging.listBlobsFlat({ prefix: itemPrefix(key), includeTags: true })) expect(isSettled(b.tags)).toBe(false);
  });
});

describe('a finished run', () => {
  let env: TestStack;
  const lines: string[] = [];

  beforeAll(async () => {
    env = await startTestStack({ sample: { generatedItems: 6, bigItems: false } });
  });

  afterAll(async () => {
    await env?.stack.stop();
  });

  it('leaves every blob it staged marked for the lifecycle rule, and logs the lines the alerts read', async () => {
    const runner = await createLocalRunner({ settings: env.stack.settings, timeScale: 0.01, log: (line) => lines.push(line) });
    const started = await runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW });
    const { report } = await runner.waitForRun(started);
    expect(report?.status).toMatch(/^completed/);

    const events = (name: (typeof LogEvents)[keyof typeof LogEvents]) =>
      lines.map((l) => parseEventLine(name, l.replace(/^\[[^\]]+\] \w+: /, ''))).filter((e) => e !== undefined);
    expect(events(LogEvents.runFinished)).toEqual([
      { runId: started.runId, trigger: 'cli', status: report!.status, window: SAMPLE_WINDOW, finishedAt: report!.finishedAt, counts: report!.counts },
    ]);
    const retention = events(LogEvents.retention);
    expect(retention).toHaveLength(1);
    expect(retention[0]).toMatchObject({ runId: started.runId });
    expect(events(LogEvents.poison)).toEqual([expect.objectContaining({ total: 0 })]);

    const items = await runner.infra.runs.listItems(started.runId);
    const staging = runner.infra.storage.container(ContainerNames.staging);
    // Settling tagged the media (staged untagged); everything else was tagged as it was written.
    const withMedia = new Set<string>();
    let media = 0;
    let written = 0;
    for (const item of items.filter((i) => !i.itemKey.startsWith('raw-'))) {
      for await (const b of staging.listBlobsFlat({ prefix: itemPrefix(item.itemKey), includeTags: true, includeMetadata: true })) {
        expect({ name: b.name, settled: isSettled(b.tags) }).toEqual({ name: b.name, settled: true });
        // Everything was written by this run, which settled within a day: tagged, never touched.
        expect(b.metadata?.[SETTLED_AT_METADATA]).toBeUndefined();
        if (b.name.includes('/media/')) {
          media++;
          withMedia.add(item.itemKey);
        } else written++;
      }
    }
    expect(written).toBeGreaterThan(0);
    expect(media).toBeGreaterThan(0);
    let runBlobs = 0;
    for await (const b of staging.listBlobsFlat({ prefix: `runs/${started.runId}/`, includeTags: true })) {
      expect(isSettled(b.tags)).toBe(true);
      runBlobs++;
    }
    expect(runBlobs).toBeGreaterThan(0);
    expect(retention[0]).toMatchObject({ items: withMedia.size, blobs: media });
    // The report is kept by its own rule (a prefix), not by the tag.
    expect((await runner.infra.storage.container(ContainerNames.reports).getBlobClient(`${started.runId}.json`).getTags()).tags).toEqual({});
  });
});
