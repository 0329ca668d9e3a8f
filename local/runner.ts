/**
 * Runs archive windows on this machine: the registered orchestrator and
 * activities, driven by the local durable driver against whatever the
 * settings point at (Azurite and the emulators, or real services).
 */
import { readSettings, type Settings } from '../shared/platform/config';
import { createInfrastructure, ensureInfrastructure, useSettings, type Infrastructure } from '../shared/app/root';
import { OrchestratorNames, reportBlobNames, TableNames } from '../shared/platform/names';
import type { ArchiveRunInput } from '../shared/run/orchestration';
import type { RunReport } from '../shared/run/report';
import { buildRunInput, newRunId, type RunStarter, type StartRunRequest, type StartedRun } from '../shared/run/runStart';
import { LocalDriver } from './driver/driver';
import { combineStatus } from './progress';
import { loadFunctionApp } from './driver/functionApp';
import { InstanceStore, type InstanceRecord } from './driver/instanceStore';

export interface LocalRunnerOptions {
  settings: Settings;
  /** Scales durable timers and retry delays. */
  timeScale?: number;
  leaseInMs?: number;
  owner?: string;
  log?: (line: string) => void;
}

export interface LocalRunner extends RunStarter {
  infra: Infrastructure;
  driver: LocalDriver;
  /** Resolves once the instance has finished, with its report. */
  waitForRun(started: StartedRun, onStatus?: (status: unknown) => void): Promise<{ instance: InstanceRecord; report?: RunReport }>;
}

/** Creates the storage the app needs and a driver over the loaded function app. */
export async function createLocalRunner(options: LocalRunnerOptions): Promise<LocalRunner> {
  const { settings } = options;
  useSettings(settings);
  const infra = createInfrastructure(settings);
  await ensureInfrastructure(infra);
  const store = new InstanceStore(infra.storage.table(TableNames.driverInstances), infra.storage.table(TableNames.driverHistory));
  await store.ensure();
  // Progress listeners by instance: the driver tells each custom status as it is set, so no phase is missed.
  const listeners = new Map<string, (status: unknown) => void>();
  const runStatuses = new Map<string, unknown>();
  const workerStatuses = new Map<string, Map<string, unknown>>();
  const driver = new LocalDriver({
    onCustomStatus: (instanceId, status) => {
      // A worker's instance id is its run's followed by `:<run id>:<stage>:<n>`: its counts go to its run's display.
      const runInstance = instanceId.split(':')[0];
      if (runInstance === instanceId) runStatuses.set(runInstance, status);
      else workerStatuses.set(runInstance, (workerStatuses.get(runInstance) ?? new Map<string, unknown>()).set(instanceId, status));
      listeners.get(runInstance)?.(combineStatus(runStatuses.get(runInstance), workerStatuses.get(runInstance) ?? new Map()));
    },
    store,
    functions: loadFunctionApp(),
    owner: options.owner,
    leaseInMs: options.leaseInMs,
    timeScale: options.timeScale,
    log: options.log,
  });
  return {
    infra,
    driver,
    async startRun(request: StartRunRequest): Promise<StartedRun> {
      const { instanceId, input } = buildRunInput(request, settings, newRunId(new Date()));
      const outcome = await driver.start(OrchestratorNames.archiveRun, instanceId, input);
      // A resumed instance goes on with the run it had.
      const runId = outcome === 'resumed' ? ((await driver.getStatus(instanceId))!.input as ArchiveRunInput).runId : input.runId;
      return { runId, instanceId, outcome };
    },
    async getInstance(instanceId: string) {
      const record = await driver.getStatus(instanceId);
      return record && { runtimeStatus: record.status, customStatus: record.customStatus, output: record.output };
    },
    async waitForRun(started, onStatus) {
      if (onStatus) {
        listeners.set(started.instanceId, onStatus);
        // A resumed run already has a status: show where it stands.
        const current = await driver.getStatus(started.instanceId).catch(() => undefined);
        if (current?.customStatus) onStatus(current.customStatus);
      }
      try {
        const instance = await driver.waitForCompletion(started.instanceId);
        const runId = ((instance.output as { runId?: string } | undefined)?.runId ?? (instance.input as ArchiveRunInput).runId);
        const report = await infra.blobs.getText('reports', reportBlobNames(runId).report).then((t) => JSON.parse(t) as RunReport, () => undefined);
        return { instance, report };
      } finally {
        if (onStatus) listeners.delete(started.instanceId);
      }
    },
  };
}

/** Runs one window to its end and returns the report (settings from the environment by default). */
export async function runWindow(
  request: StartRunRequest,
  options: Partial<LocalRunnerOptions> & { onStatus?: (status: unknown) => void } = {},
): Promise<{ started: StartedRun; instance: InstanceRecord; report?: RunReport }> {
  const runner = await createLocalRunner({ ...options, settings: options.settings ?? readSettings() });
  const started = await runner.startRun(request);
  const { instance, report } = await runner.waitForRun(started, options.onStatus);
  return { started, instance, report };
}
