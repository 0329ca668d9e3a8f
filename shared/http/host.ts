/**
 * What the HTTP and timer triggers need: settings, the run starter, the run
 * store, blobs, the mapping store and the watermark (`AppHost`), and the run
 * starter over Durable's client. The composition root (shared/app/root.ts)
 * builds the host: in Azure over the invocation's Durable client; under
 * `o2-archiver serve` and in tests a host with the local runner is put in
 * place with `useAppHost`, and the very same handlers run over it.
 */
import type { Settings } from '../platform/config';
import { ArchiverError } from '../model/errors';
import type { HistoryPurger, PoisonDepths } from '../run/housekeeping';
import type { MappingStore } from '../stages/mapping';
import { OrchestratorNames } from '../platform/names';
import type { BlobPort } from '../platform/storage';
import type { RunStore } from '../run/runs';
import { buildRunInput, newRunId, type RunStarter, type StartRunRequest, type StartedRun } from '../run/runStart';
import type { WatermarkStore } from '../run/watermark';

/**
 * The run starter of the HTTP API and the timer. It never hands out Durable's
 * management URLs: they carry the extension's system key.
 */
export type AppRunStarter = RunStarter;

export interface AppHost {
  settings: Settings;
  starter: AppRunStarter;
  runs: RunStore;
  blobs: BlobPort;
  mapping: MappingStore;
  watermarks: WatermarkStore;
  /** How many messages wait in each poison queue. */
  poisonDepths(): Promise<PoisonDepths>;
  /** Purges Durable orchestration history: Durable's client in Azure; absent under the local driver. */
  history?: HistoryPurger;
  /** The clock (tests fix it to fire the timer on a chosen day). */
  now(): Date;
}

/** The part of durable-functions' DurableClient the starter uses (kept structural: shared/ does not import the runtime). */
export interface DurableClientLike {
  startNew(orchestratorName: string, options: { instanceId: string; input: unknown }): Promise<string>;
  getStatus(instanceId: string): Promise<{ runtimeStatus: string; customStatus?: unknown; output?: unknown; input?: unknown }>;
  /** Only the housekeeping timer needs it (Durable's client always has it). */
  purgeInstanceHistoryBy?(filter: { createdTimeFrom?: Date; createdTimeTo?: Date; runtimeStatus?: string[] }): Promise<{ instancesDeleted: number }>;
}

// Durable's runtime states in which the instance still owns its window.
const ACTIVE_STATES = new Set(['Running', 'Pending', 'ContinuedAsNew', 'Suspended']);

/**
 * Durable's client as a RunStarter: one instance per window (its instance id),
 * and a start of a window whose instance is active is refused with CONFLICT.
 * The check before startNew gives the clear answer; the race between two
 * starts is closed by the host setting
 * `extensions.durableTask.overridableExistingInstanceStates: NonRunningStates`,
 * under which startNew itself refuses an active instance.
 */
export function durableRunStarter(client: DurableClientLike, settings: Settings, now: () => Date = () => new Date()): AppRunStarter {
  async function status(instanceId: string) {
    try {
      return await client.getStatus(instanceId);
    } catch (e) {
      if (e instanceof Error && /\b404\b/.test(e.message)) return undefined;
      throw e;
    }
  }
  function busy(instanceId: string, found: { input?: unknown } | undefined): ArchiverError {
    const runId = (found?.input as { runId?: string } | undefined)?.runId;
    return new ArchiverError('CONFLICT', `run ${instanceId} is already running${runId ? ` as ${runId}` : ''}`);
  }
  return {
    async startRun(request: StartRunRequest): Promise<StartedRun> {
      const { instanceId, input } = buildRunInput(request, settings, newRunId(now()));
      const before = await status(instanceId);
      if (before && ACTIVE_STATES.has(before.runtimeStatus)) throw busy(instanceId, before);
      try {
        await client.startNew(OrchestratorNames.archiveRun, { instanceId, input });
      } catch (e) {
        const after = await status(instanceId).catch(() => undefined);
        if (after && ACTIVE_STATES.has(after.runtimeStatus)) throw busy(instanceId, after);
        throw e;
      }
      return { runId: input.runId, instanceId, outcome: before ? 'restarted' : 'started' };
    },
    async getInstance(instanceId: string) {
      const found = await status(instanceId);
      return found && { runtimeStatus: found.runtimeStatus, customStatus: found.customStatus, output: found.output };
    },
  };
}
