/**
 * Retention marks on real blobs (Azurite): a settled run's blobs are touched
 * (last-modified moves to the settling, metadata kept) and then tagged for
 * the lifecycle rule; a run that takes an item up again (staging it, or a
 * re-drive) takes the tag off first; nothing outside the run and its items
 * is marked. And a whole run, driven by the local driver, leaves its blobs
 * marked and says so in its log, with the line the alert rules read.
 */
import { ContainerClient } from '@azure/storage-blob';
import { beginRedrive } from '../../shared/redrive';
import { itemKey } from '../../shared/item';
import { ContainerNames, RetentionTag } from '../../shared/names';
import { createRetentionMarker, isSettled, itemPrefix, SETTLED_AT_METADATA } from '../../shared/retention';
import { RunStore } from '../../shared/runs';
import { createStagingStore } from '../../shared/staging';
import { validateRecord } from '../../shared/source';
import { LogEvents, parseEventLine } from '../../shared/logging';
import { createLocalRunner } from '../../local/runner';
import { fixtureItem } from '../source/helpers';
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

  it('touches, then tags, every blob of the run and of its items, keeping their metadata, and nothing else', async () => {
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
    const result = await marker.settleRun({ runId: 'run-1', itemKeys: [key, key, 'raw-' + 'c'.repeat(64)], settledAt: '2027-01-02T03:04:05.000Z' });
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

  it('staging an item again takes the tag off all of its blobs before anything else', async () => {
    const store = createStagingStore(staging);
    const validated = validateRecord(fixtureItem('mms-photo'));
    if (!validated.ok) throw new Error(validated.detail);
    const key = itemKey(validated.item.id);
    expect((await store.stageItem(validated.item, validated.sourceSha256, null)).ok).toBe(true);
    await store.putItemBlob(key, 'message.eml', 'eml', 'message/rfc822');
    await createRetentionMarker({ staging, runs }).settleRun({ runId: 'run-a', itemKeys: [key], settledAt: '2027-01-01T00:00:00.000Z' });
    const names: string[] = [];
    for await (const b of staging.listBlobsFlat({ prefix: itemPrefix(key), includeTags: true })) {
      expect(isSettled(b.tags)).toBe(true);
      names.push(b.name);
    }
    expect(names.length).toBe(4); // two media, item.json, message.eml
    // The media are already staged and are not written again: only the reopen can untag them.
    expect((await store.stageItem(validated.item, validated.sourceSha256, null)).ok).toBe(true);
    for await (const b of staging.listBlobsFlat({ prefix: itemPrefix(key), includeTags: true })) expect(isSettled(b.tags)).toBe(false);
  });

  it('a re-drive takes the tag off the items it queues', async () => {
    const store = createStagingStore(staging);
    const table = () => storage.table(uniqueName('t'));
    const runStore = new RunStore({ runs: table(), items: table(), units: table() });
    await runStore.ensure();
    const key = 'd'.repeat(64);
    await put(staging, `items/${key}/item.json`);
    await put(staging, `items/${key}/message.json`);
    await runStore.claimItem('run-old', { itemKey: key, itemId: 'tm-9', type: 'sms' }, 'm');
    await runStore.setItemOutcome('run-old', { itemKey: key, itemId: 'tm-9', type: 'sms', outcome: 'unmapped' });
    await createRetentionMarker({ staging, runs }).settleRun({ runId: 'run-old', itemKeys: [key], settledAt: '2027-01-01T00:00:00.000Z' });
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
    expect(retention[0]).toMatchObject({ runId: started.runId, items: report!.counts.sourceItems });
    expect(events(LogEvents.poison)).toEqual([expect.objectContaining({ total: 0 })]);

    const items = await runner.infra.runs.listItems(started.runId);
    const staging = runner.infra.storage.container(ContainerNames.staging);
    let tagged = 0;
    for (const item of items.filter((i) => !i.itemKey.startsWith('raw-'))) {
      for await (const b of staging.listBlobsFlat({ prefix: itemPrefix(item.itemKey), includeTags: true, includeMetadata: true })) {
        expect({ name: b.name, settled: isSettled(b.tags) }).toEqual({ name: b.name, settled: true });
        expect(b.metadata?.[SETTLED_AT_METADATA]).toBe(report!.finishedAt);
        tagged++;
      }
    }
    for await (const b of staging.listBlobsFlat({ prefix: `runs/${started.runId}/`, includeTags: true })) {
      expect(isSettled(b.tags)).toBe(true);
      tagged++;
    }
    for await (const b of runner.infra.storage.container(ContainerNames.runs).listBlobsFlat({ prefix: `${started.runId}/`, includeTags: true })) {
      expect(isSettled(b.tags)).toBe(true);
      tagged++;
    }
    expect(tagged).toBe(retention[0].blobs);
    // The report is kept by its own rule (a prefix), not by the tag.
    expect((await runner.infra.storage.container(ContainerNames.reports).getBlobClient(`${started.runId}.json`).getTags()).tags).toEqual({});
  });
});
