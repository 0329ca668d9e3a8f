/**
 * The daily housekeeping (functions/housekeepingTimer.ts): purges the Durable
 * orchestration history of runs that finished more than
 * HISTORY_RETENTION_DAYS ago (it holds run inputs, outputs and custom status:
 * ids, windows and counts of participant traffic), and writes the log lines
 * the alert rules read whether or not a run happened today: the re-drive
 * backlog's oldest item and the poison queues' depths.
 */
import type { ActivityLog } from '../platform/logging';
import { readBacklog, type Backlog } from './backlog';
import { describeError } from '../model/errors';
import { eventLine, LogEvents } from '../platform/logging';
import { poisonQueueName, StageOrder } from '../platform/names';
import type { RunStore } from './runs';
import type { StorageClients } from '../platform/storage';

/** Messages waiting in each poison queue, by queue name. */
export type PoisonDepths = Record<string, number>;

/** Reads the approximate message count of every stage's poison queue (a missing queue holds none). */
export async function poisonQueueDepths(storage: Pick<StorageClients, 'queue'>): Promise<PoisonDepths> {
  const entries = await Promise.all(
    StageOrder.map(async (stage) => {
      const name = poisonQueueName(stage);
      try {
        const properties = await storage.queue(name).getProperties();
        return [name, properties.approximateMessagesCount ?? 0] as const;
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) return [name, 0] as const;
        throw e;
      }
    }),
  );
  return Object.fromEntries(entries);
}

/** The `o2.poison` line for these depths. */
export function poisonLine(depths: PoisonDepths): string {
  const total = Object.values(depths).reduce((a, b) => a + b, 0);
  return eventLine(LogEvents.poison, { total, queues: depths });
}

/** The `o2.backlog` line: how much is owed and since when the oldest item waits (counts and a time only). */
export function backlogLine(backlog: Pick<Backlog, 'total' | 'unmapped' | 'failed' | 'entries' | 'oldestAgeInSeconds'>): string {
  return eventLine(LogEvents.backlog, {
    total: backlog.total,
    unmapped: backlog.unmapped,
    failed: backlog.failed,
    oldestSince: backlog.entries[0]?.since ?? null,
    oldestAgeHours: Math.floor(backlog.oldestAgeInSeconds / 3600),
  });
}

/** Durable's runtime states of an instance that will not change again: only these are purged. */
export const FINISHED_RUNTIME_STATES = ['Completed', 'Failed', 'Terminated'] as const;

/** What the purge asks Durable for: finished instances created before the cut-off. */
export interface HistoryPurgeFilter {
  createdTimeFrom: Date;
  createdTimeTo: Date;
  runtimeStatus: string[];
}

/**
 * The purge of history older than `retentionDays` at `now`: instances created
 * before `now - retentionDays` that finished. Running, pending, suspended and
 * continued-as-new instances are never purged, however old.
 */
export function historyPurgeFilter(now: Date, retentionDays: number): HistoryPurgeFilter {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new RangeError(`retentionDays must be a whole number of at least 1, not ${retentionDays}`);
  return {
    createdTimeFrom: new Date(0),
    createdTimeTo: new Date(now.getTime() - retentionDays * 86_400_000),
    runtimeStatus: [...FINISHED_RUNTIME_STATES],
  };
}

/** The part of durable-functions' client the purge uses (kept structural: shared/ does not import the runtime). */
export interface HistoryPurger {
  purgeInstanceHistoryBy(filter: HistoryPurgeFilter): Promise<{ instancesDeleted: number }>;
}

export interface HousekeepingDependencies {
  now: Date;
  historyRetentionDays: number;
  /** Durable's client in Azure; absent where no Durable history is kept by the host (the local driver). */
  history?: HistoryPurger;
  runs: RunStore;
  poisonDepths(): Promise<PoisonDepths>;
  log: ActivityLog;
}

export interface HousekeepingResult {
  /** Instances purged, or null when there was no Durable client to purge with. */
  instancesDeleted: number | null;
  purgedBefore: string;
  backlog: { total: number; oldestSince: string | null };
  poisoned: number;
}

/**
 * Runs every housekeeping step; a step that fails does not stop the others,
 * and the first failure is thrown at the end, so that the invocation shows
 * as failed.
 */
export async function runHousekeeping(deps: HousekeepingDependencies): Promise<HousekeepingResult> {
  const { now, log } = deps;
  const failures: unknown[] = [];
  const filter = historyPurgeFilter(now, deps.historyRetentionDays);
  const result: HousekeepingResult = {
    instancesDeleted: null,
    purgedBefore: filter.createdTimeTo.toISOString(),
    backlog: { total: 0, oldestSince: null },
    poisoned: 0,
  };

  if (deps.history) {
    try {
      const purged = await deps.history.purgeInstanceHistoryBy(filter);
      result.instancesDeleted = purged.instancesDeleted;
      log.info(eventLine(LogEvents.historyPurged, { olderThan: result.purgedBefore, instancesDeleted: purged.instancesDeleted }));
    } catch (e) {
      failures.push(e);
      log.error(`housekeeping: purging Durable history older than ${result.purgedBefore} failed: ${describeError(e)}`);
    }
  } else {
    log.info('housekeeping: no Durable client here (local driver): no history to purge');
  }

  try {
    const backlog = await readBacklog(deps.runs, { now, limit: 1 });
    result.backlog = { total: backlog.total, oldestSince: backlog.entries[0]?.since ?? null };
    log.info(backlogLine(backlog));
  } catch (e) {
    failures.push(e);
    log.error(`housekeeping: reading the re-drive backlog failed: ${describeError(e)}`);
  }

  try {
    const depths = await deps.poisonDepths();
    result.poisoned = Object.values(depths).reduce((a, b) => a + b, 0);
    log.info(poisonLine(depths));
  } catch (e) {
    failures.push(e);
    log.error(`housekeeping: reading the poison queues failed: ${describeError(e)}`);
  }

  if (failures.length > 0) throw failures[0];
  return result;
}
