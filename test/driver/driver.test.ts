import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';
import { registeredFunctions } from '../../local/driver/functionsCore';
import { InstanceStore } from '../../local/driver/instanceStore';
import { LocalDriver, InstanceBusyError } from '../../local/driver/driver';
import { testStorage, uniqueName } from '../support/storage';

const calls: Record<string, number> = {};

df.app.activity('toyDouble', { handler: async (n: number) => n * 2 });
df.app.activity('toyFlaky', {
  handler: async (key: string) => {
    calls[key] = (calls[key] ?? 0) + 1;
    if (calls[key] < 3) throw new Error(`flaky failure ${calls[key]}`);
    return `ok after ${calls[key]}`;
  },
});
df.app.activity('toyAlwaysFails', { handler: async () => { throw new Error('always broken'); } });

const retry = new df.RetryOptions(10, 3);

df.app.orchestration('toyOrchestration', function* (context: OrchestrationContext) {
  const input = context.df.getInput() as { key: string; round: number; total: number };
  const doubled: number[] = yield context.df.Task.all([1, 2, 3].map((n) => context.df.callActivity('toyDouble', n)));
  const flaky: string = yield context.df.callActivityWithRetry('toyFlaky', retry, `${input.key}-${input.round}`);
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + 20));
  const total = input.total + doubled.reduce((a, b) => a + b, 0);
  context.df.setCustomStatus({ round: input.round, total });
  if (input.round < 2) {
    context.df.continueAsNew({ ...input, round: input.round + 1, total });
    return undefined;
  }
  return { total, flaky, guid: context.df.newGuid(input.key) };
});

df.app.orchestration('toyFailing', function* (context: OrchestrationContext) {
  yield context.df.callActivityWithRetry('toyAlwaysFails', new df.RetryOptions(5, 2), null);
  return 'unreachable';
});

function newDriver(store: InstanceStore, owner?: string, leaseInMs?: number) {
  return new LocalDriver({ store, functions: registeredFunctions, owner, leaseInMs });
}

async function newStore(): Promise<InstanceStore> {
  const storage = testStorage();
  const store = new InstanceStore(storage.table(uniqueName('inst')), storage.table(uniqueName('hist')));
  await store.ensure();
  return store;
}

describe('local durable driver', () => {
  it('runs fan-out, retries, timers and continue-as-new through the real replay', async () => {
    const store = await newStore();
    const driver = newDriver(store);
    expect(await driver.start('toyOrchestration', 'toy-1', { key: 'a', round: 0, total: 0 })).toBe('started');
    const done = await driver.waitForCompletion('toy-1');
    expect(done.status).toBe('completed');
    expect(done.execution).toBe(2);
    const output = done.output as { total: number; flaky: string };
    expect(output.total).toBe(36);
    expect(output.flaky).toBe('ok after 3');
    expect(done.customStatus).toEqual({ round: 2, total: 36 });
    // Each round's flaky activity failed twice and was retried under the retry policy.
    expect(calls['a-0']).toBe(3);
    expect(calls['a-2']).toBe(3);
  });

  it('fails the orchestration once the retry policy is spent', async () => {
    const store = await newStore();
    const driver = newDriver(store);
    await driver.start('toyFailing', 'toy-fail', null);
    const done = await driver.waitForCompletion('toy-fail');
    expect(done.status).toBe('failed');
    expect(done.error).toContain('always broken');
  });

  it('refuses a second start while a live lease is held, and a finished instance starts afresh', async () => {
    const store = await newStore();
    const first = newDriver(store, 'first');
    const second = newDriver(store, 'second');
    await first.start('toyOrchestration', 'toy-2', { key: 'b', round: 2, total: 0 });
    await expect(second.start('toyOrchestration', 'toy-2', { key: 'b', round: 2, total: 0 })).rejects.toBeInstanceOf(InstanceBusyError);
    await first.waitForCompletion('toy-2');
    expect(await second.start('toyOrchestration', 'toy-2', { key: 'c', round: 2, total: 0 })).toBe('restarted');
    const again = await second.waitForCompletion('toy-2');
    expect(again.status).toBe('completed');
    expect((again.output as { flaky: string }).flaky).toBe('ok after 3');
  });
});
