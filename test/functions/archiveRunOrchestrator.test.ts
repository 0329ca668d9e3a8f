/**
 * The real orchestrators through durable-functions' replay: the run's and
 * its stage workers' recorded histories replay to the same actions, and a
 * failing activity is retried under the orchestration's retry policy.
 */
import { InstanceStore } from '../../local/driver/instanceStore';
import { replay, actionSignature, EventType } from '../../local/driver/replay';
import { registeredFunctions } from '../../local/driver/functionsCore';
import { createActivityDependencies, useActivityDependencies, useSettings } from '../../shared/app/root';
import { OrchestratorNames, TableNames } from '../../shared/platform/names';
import { checkBalance } from '../../shared/run/report';
import { instanceIdForWindow } from '../../shared/run/window';
import { startTestStack, SAMPLE_WINDOW, type TestStack } from '../support/stack';

describe('archiveRunOrchestrator', () => {
  let env: TestStack;
  let store: InstanceStore;

  beforeAll(async () => {
    env = await startTestStack({ env: { MAX_PARALLEL_ACTIVITIES: '3' } });
    store = new InstanceStore(env.runner.infra.storage.table(TableNames.driverInstances), env.runner.infra.storage.table(TableNames.driverHistory));
  });

  afterAll(async () => {
    useSettings(env.stack.settings);
    await env?.stack.stop();
  });

  it('replays its recorded history to the same actions, every time', async () => {
    const started = await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW });
    const { instance } = await env.runner.waitForRun(started);
    expect(instance.status).toBe('completed');
    const handler = registeredFunctions.get(OrchestratorNames.archiveRun)!.handler as Parameters<typeof replay>[0];
    // The last execution's input is what continue-as-new handed it.
    const history = await store.loadHistory(instance.instanceId, instance.execution);
    const scheduled = history.filter((e) => e.Signature !== undefined).sort((a, b) => (a.ActionIndex as number) - (b.ActionIndex as number));
    expect(scheduled.length).toBeGreaterThan(2);
    const first = await replay(handler, OrchestratorNames.archiveRun, instance.instanceId, instance.input, history);
    const second = await replay(handler, OrchestratorNames.archiveRun, instance.instanceId, instance.input, history);
    expect(first.isDone).toBe(true);
    expect(first.actions.map(actionSignature)).toEqual(scheduled.map((e) => e.Signature));
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    expect(first.output).toEqual(instance.output);
    // Each stage worker, too, replays its own history to the actions it took.
    const workerHandler = registeredFunctions.get(OrchestratorNames.stageWorker)!.handler as Parameters<typeof replay>[0];
    const worker = (await store.get(`${instance.instanceId}:${(instance.input as { runId: string }).runId}:convert:0`))!.record;
    const workerHistory = await store.loadHistory(worker.instanceId, worker.execution);
    const workerScheduled = workerHistory.filter((e) => e.Signature !== undefined).sort((a, b) => (a.ActionIndex as number) - (b.ActionIndex as number));
    const replayed = await replay(workerHandler, OrchestratorNames.stageWorker, worker.instanceId, worker.input, workerHistory);
    expect(replayed.isDone).toBe(true);
    expect(replayed.actions.map(actionSignature)).toEqual(workerScheduled.map((e) => e.Signature));
    expect(replayed.output).toEqual(worker.output);
  });

  it('retries a failing activity under its retry policy and the run completes', async () => {
    const deps = createActivityDependencies(env.stack.settings);
    let failures = 0;
    // beginRun makes sure of the storage first: make that fail twice.
    const ensure = deps.ensureStorage.bind(deps);
    deps.ensureStorage = async () => {
      if (failures < 2) {
        failures++;
        throw new Error('storage hiccup');
      }
      return ensure();
    };
    useActivityDependencies(deps);
    try {
      const before = await env.runner.driver.getStatus(instanceIdForWindow(SAMPLE_WINDOW));
      const started = await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW });
      const { instance, report } = await env.runner.waitForRun(started);
      expect(instance.status).toBe('completed');
      expect(failures).toBe(2);
      expect(report!.status).toBe('completed');
      expect(checkBalance(report!.counts)).toEqual([]);
      // The failures happened in this start's first execution.
      const history = await store.loadHistory(instance.instanceId, (before?.execution ?? -1) + 1);
      const failed = history.filter((e) => e.EventType === EventType.TaskFailed);
      expect(failed).toHaveLength(2);
      expect(failed[0].Reason).toContain('storage hiccup');
      expect(history.filter((e) => e.Kind === 'retryTimer')).toHaveLength(2);
    } finally {
      useSettings(env.stack.settings);
    }
  });

  it('fails the run with the reason once an activity fails past its retry policy', async () => {
    const deps = createActivityDependencies(env.stack.settings);
    // Every run's conversion queue answers no depth: the conversion workers' look at the queues fails for good.
    const of = deps.queues.of.bind(deps.queues);
    deps.queues.of = (runId) => {
      const queues = of(runId);
      queues.convert.depth = async () => {
        throw new Error('queue service gone');
      };
      return queues;
    };
    useActivityDependencies(deps);
    try {
      const started = await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW });
      const { instance, report } = await env.runner.waitForRun(started);
      expect(instance.status).toBe('completed');
      expect(report!.status).toBe('failed');
      expect(report!.error).toContain('queue service gone');
    } finally {
      useSettings(env.stack.settings);
    }
  });
});
