/**
 * Stage activities against real queues: a message that keeps failing goes to
 * the poison queue after the dequeue limit and becomes the item's failure
 * with reason `poisoned`; the same id on two pages is one item.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAzurite, type AzuriteHandle } from '../../local/azurite';
import { readSettings } from '../../shared/config';
import { createActivities } from '../../shared/activities';
import { createActivityDependencies } from '../../shared/dependencies';
import { buildReport, checkBalance } from '../../shared/report';

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

  it('moves a message that fails past the dequeue limit to the poison queue and records the item as poisoned', async () => {
    const deps = dependencies();
    const activities = createActivities(deps);
    await deps.ensureStorage();
    await activities.beginRun({
      runId: 'run-poison', instanceId: 'i-poison', trigger: 'cli', readFrom: '2026-11-25T00:00:00.000Z',
      window: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-25T00:00:00.001Z' }, startedAt: '2026-11-26T00:00:00.000Z',
    });
    await deps.queues.fetch.receive(32).then((b) => Promise.all(b.fresh.map((m) => deps.queues.fetch.complete(m))));
    // A claim check for an item that was never staged: conversion can only fail on it.
    await deps.queues.convert.send({ runId: 'run-poison', itemKey: 'f'.repeat(64) });
    const attempts: number[] = [];
    for (let i = 0; i < 10 && (await deps.queues.convert.depth()).approximate > 0; i++) {
      const result = await activities.convertItems();
      attempts.push(result.poisoned);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
    expect(attempts.filter((n) => n === 1)).toHaveLength(1);
    expect(attempts.length).toBe(3); // two failed deliveries, then the third is over the limit
    const poisoned = await deps.queues.convert.poisonQueue.receiveMessages({ numberOfMessages: 5 });
    expect(poisoned.receivedMessageItems).toHaveLength(1);
    expect(JSON.parse(poisoned.receivedMessageItems[0].messageText)).toMatchObject({ reason: 'poisoned', body: { itemKey: 'f'.repeat(64) } });
    const items = await deps.runs.listItems('run-poison');
    expect(items).toEqual([expect.objectContaining({ outcome: 'itemFailed', reason: 'poisoned' })]);
    const report = buildReport((await deps.runs.getRun('run-poison'))!, items, [], { final: true, finishedAt: 'x' });
    expect(report.failures).toEqual([expect.objectContaining({ reason: 'poisoned', itemId: null })]);
    expect(checkBalance(report.counts)).toEqual([]);
  });

  it('counts the same id on two pages once, and an invalid record as invalid with its reason', async () => {
    const deps = dependencies();
    const activities = createActivities(deps);
    await deps.ensureStorage();
    const runId = 'run-dupes';
    await deps.runs.createRun({
      runId, instanceId: 'i', trigger: 'cli', readFrom: '2026-11-25T00:00:00.000Z',
      window: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' },
      startedAt: '2026-11-26T00:00:00.000Z', finishedAt: null, status: 'running',
    });
    const invalid = { id: 'tm-bad-1', type: 'sms', direction: 'sideways', timestamp: '2026-11-25T10:00:00Z', from: { phone: '+447700900101' }, to: [] };
    const pageA = await deps.staging.putRawPage(runId, 'a', [{ id: 'tm-same' }, invalid]);
    const pageB = await deps.staging.putRawPage(runId, 'b', [{ id: 'tm-same' }]);
    // Validation would stage the item; here both copies of tm-same are invalid on purpose, so only claiming is tested.
    await deps.queues.stage.sendMany([{ runId, pageBlob: pageA, index: 0 }, { runId, pageBlob: pageA, index: 1 }, { runId, pageBlob: pageB, index: 0 }]);
    let done = 0;
    for (let i = 0; i < 5 && done < 3; i++) done += (await activities.stageItems()).done;
    expect(done).toBe(3);
    const items = await deps.runs.listItems(runId);
    expect(items.map((i) => i.itemId).sort()).toEqual(['tm-bad-1', 'tm-same']);
    expect(items.every((i) => i.outcome === 'invalid' && i.reason === 'invalid')).toBe(true);
    expect(items.find((i) => i.itemId === 'tm-bad-1')!.detail).toMatch(/direction|to/);
  });
});
