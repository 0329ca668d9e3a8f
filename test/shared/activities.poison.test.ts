/**
 * Stage activities against real queues: a batch that keeps failing goes to
 * the poison queue after the dequeue limit and its items' failure is
 * `poisoned`; one item conversion cannot make fails alone; the same id on two
 * pages is one item.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAzurite, type AzuriteHandle } from '../../local/azurite';
import { readSettings } from '../../shared/platform/config';
import { createActivities } from '../../shared/activities';
import { createActivityDependencies } from '../../shared/app/root';
import { buildReport, checkBalance } from '../../shared/run/report';
import { itemKey } from '../../shared/model/item';
import { validateRecord } from '../../shared/stages/source';
import { fixtureItem } from '../source/helpers';

describe('stage activities over real queues', () => {
  let azurite: AzuriteHandle;

  beforeAll(async () => {
    // Its own Azurite: the stage queues have fixed names.
    azurite = await startAzurite({ location: mkdtempSync(path.join(os.tmpdir(), 'o2-poison-')) });
  });

  afterAll(async () => {
    await azurite?.stop();
  });

  function dependencies() {
    const settings = readSettings({
      AzureWebJobsStorage: azurite.connectionString,
      QUEUE_VISIBILITY_TIMEOUT_SECONDS: '1',
      MAX_DEQUEUE_COUNT: '2',
      TELEMESSAGE_BASE_URL: 'http://127.0.0.1:9/unused',
    });
    return createActivityDependencies(settings);
  }

  /** Storage, the run's queues and its record, as beginRun leaves them. */
  async function openRun(deps: ReturnType<typeof dependencies>, runId: string, instanceId: string): Promise<void> {
    await deps.ensureStorage();
    await deps.queues.ensure(runId);
    await deps.runs.createRun({
      runId, instanceId, trigger: 'cli', readFrom: '2026-11-25T00:00:00.000Z',
      window: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' }, startedAt: '2026-11-26T00:00:00.000Z', finishedAt: null, status: 'running',
    });
  }

  it('moves a batch that fails past the dequeue limit to the poison queue and records its items as poisoned', async () => {
    const deps = dependencies();
    // Conversion meets a storage outage every time (worth a retry, so the batch comes back, until it is poisoned).
    const activities = createActivities({ ...deps, convertItem: async () => { throw Object.assign(new Error('server busy'), { statusCode: 503 }); } });
    const runId = 'run-poison';
    await openRun(deps, runId, 'i-poison');
    const validated = validateRecord(fixtureItem('sms-outbound-internal'));
    if (!validated.ok) throw new Error(validated.detail);
    const staged = await deps.staging.stageItem(validated.item, validated.sourceSha256, null);
    if (!staged.ok) throw new Error(staged.detail);
    await deps.runs.claimItems(runId, [{ itemKey: itemKey(validated.item.id), itemId: validated.item.id, type: validated.item.type }], 'page-message');
    const batchBlob = await deps.staging.putBatch(runId, 'staged', 'page-0', { runId, items: [staged.staged] });
    await deps.queues.of(runId).convert.send({ runId, batchBlob, items: 1 });
    const attempts: number[] = [];
    for (let i = 0; i < 10 && (await deps.queues.of(runId).convert.depth()).approximate > 0; i++) {
      const result = await activities.convertItems({ runId });
      attempts.push(result.poisoned);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    expect(attempts.filter((n) => n === 1)).toHaveLength(1);
    expect(attempts.length).toBe(3); // two failed deliveries, then the third is over the limit
    const poisoned = await deps.queues.of(runId).convert.poisonQueue.receiveMessages({ numberOfMessages: 5 });
    expect(poisoned.receivedMessageItems).toHaveLength(1);
    expect(JSON.parse(poisoned.receivedMessageItems[0].messageText)).toMatchObject({ reason: 'poisoned', body: { runId, batchBlob } });
    const items = await deps.runs.listItems(runId);
    expect(items).toEqual([expect.objectContaining({ itemId: validated.item.id, outcome: 'itemFailed', reason: 'poisoned', detail: 'conversion failed 3 times' })]);
    const report = buildReport((await deps.runs.getRun(runId))!, items, [], { final: true, finishedAt: 'x' });
    expect(report.failures).toEqual([expect.objectContaining({ reason: 'poisoned', itemId: validated.item.id })]);
    expect(checkBalance(report.counts)).toEqual([]);
  });

  it('fails one item that conversion cannot make, and converts the rest of its batch', async () => {
    const deps = dependencies();
    const broken = 'tm-mms-0001';
    const activities = createActivities({
      ...deps,
      convertItem: (staged, openMedia) => (staged.item.id === broken ? Promise.reject(new TypeError('a defect')) : deps.convertItem(staged, openMedia)),
    });
    await deps.ensureStorage();
    const runId = 'run-one-broken';
    await deps.queues.ensure(runId);
    const stagedItems = [];
    for (const name of ['sms-outbound-internal', 'mms-photo']) {
      const validated = validateRecord(fixtureItem(name));
      if (!validated.ok) throw new Error(validated.detail);
      const staged = await deps.staging.stageItem(validated.item, validated.sourceSha256, null);
      if (!staged.ok) throw new Error(staged.detail);
      stagedItems.push(staged.staged);
    }
    const batchBlob = await deps.staging.putBatch(runId, 'staged', 'page-0', { runId, items: stagedItems });
    await deps.queues.of(runId).convert.send({ runId, batchBlob, items: 2 });
    expect(await activities.convertItems({ runId })).toMatchObject({ done: 1, sent: 1, items: 1 });
    expect(await deps.runs.getItem(runId, itemKey(broken))).toMatchObject({ outcome: 'itemFailed', reason: 'conversion-error', detail: 'a defect' });
    const mapped = (await deps.queues.of(runId).map.queue.peekMessages()).peekedMessageItems.map((m) => JSON.parse(m.messageText));
    expect(mapped).toEqual([expect.objectContaining({ runId, items: 1 })]);
  });

  it('counts the same id on two pages once, and an invalid record as invalid with its reason', async () => {
    const deps = dependencies();
    const activities = createActivities(deps);
    const runId = 'run-dupes';
    await openRun(deps, runId, 'i');
    const invalid = { id: 'tm-bad-1', type: 'sms', direction: 'sideways', timestamp: '2026-11-25T10:00:00Z', from: { phone: '+447700900101' }, to: [] };
    const pageA = await deps.staging.putRawPage(runId, 'a', [{ id: 'tm-same' }, invalid]);
    const pageB = await deps.staging.putRawPage(runId, 'b', [{ id: 'tm-same' }]);
    // Validation would stage the item; here both copies of tm-same are invalid on purpose, so only claiming is tested.
    await deps.queues.of(runId).stage.send({ runId, pageBlob: pageA, records: 2 });
    await deps.queues.of(runId).stage.send({ runId, pageBlob: pageB, records: 1 });
    let done = 0;
    for (let i = 0; i < 5 && done < 2; i++) done += (await activities.stageItems({ runId })).done;
    expect(done).toBe(2);
    const items = await deps.runs.listItems(runId);
    expect(items.map((i) => i.itemId).sort()).toEqual(['tm-bad-1', 'tm-same']);
    expect(items.every((i) => i.outcome === 'invalid' && i.reason === 'invalid')).toBe(true);
    expect(items.find((i) => i.itemId === 'tm-bad-1')!.detail).toMatch(/direction|to/);
  });

  it('sets aside at once a message in any stage queue that is no claim check of that stage, touching no item of the run', async () => {
    const deps = dependencies();
    const activities = createActivities(deps);
    const runId = 'run-malformed';
    await openRun(deps, runId, 'i-malformed');
    const queues = deps.queues.of(runId);
    const work = {
      fetch: () => activities.fetchSlices({ runId }),
      stage: () => activities.stageItems({ runId }),
      convert: () => activities.convertItems({ runId }),
      map: () => activities.mapItems({ runId }),
      import: () => activities.importMailboxes({ runId }),
    } as const;
    for (const stage of Object.keys(work) as (keyof typeof work)[]) {
      // Not JSON, JSON of another stage's shape, and an import step without its mailbox (which would read every mailbox's units).
      await queues[stage].queue.sendMessage('not a claim check');
      await queues[stage].queue.sendMessage(JSON.stringify({ runId }));
      // The fetch stage takes one message at a time; the others take both at once.
      const total = { stage, taken: 0, poisoned: 0, done: 0 };
      for (let i = 0; i < 4 && (await queues[stage].depth()).approximate > 0; i++) {
        const result = await work[stage]();
        total.taken += result.taken;
        total.poisoned += result.poisoned;
        total.done += result.done;
      }
      expect(total).toEqual({ stage, taken: 2, poisoned: 2, done: 0 });
      expect((await queues[stage].depth()).approximate).toBe(0);
      const setAside = (await queues[stage].poisonQueue.receiveMessages({ numberOfMessages: 32 })).receivedMessageItems
        .map((m) => JSON.parse(m.messageText) as { reason: string })
        .filter((m) => m.reason.startsWith('malformed')); // the poison queues are shared with the other cases
      expect(setAside).toEqual([
        expect.objectContaining({ reason: expect.stringMatching(/^malformed/), body: { unparsable: 'not a claim check' } }),
        expect.objectContaining({ reason: expect.stringMatching(/^malformed/), body: { runId } }),
      ]);
    }
    // No item and no unit of the run was touched.
    expect(await deps.runs.listItems(runId)).toEqual([]);
  });
});
