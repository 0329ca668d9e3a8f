/**
 * The daily housekeeping: which Durable history it purges (finished
 * instances created before the retention cut-off, never a running one), and
 * the backlog and poison-queue lines the alert rules read, over its own
 * Azurite (the poison queues have fixed names). The timer's handler is
 * called directly with a real InvocationContext.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvocationContext, type Timer } from '@azure/functions';
import { housekeepingTimer } from '../../functions/housekeepingTimer';
import { startAzurite, type AzuriteHandle } from '../../local/azurite';
import { readSettings } from '../../shared/platform/config';
import { createInfrastructure, ensureInfrastructure, type Infrastructure } from '../../shared/app/root';
import { FINISHED_RUNTIME_STATES, historyPurgeFilter, type HistoryPurgeFilter } from '../../shared/run/housekeeping';
import { createAppHost, useAppHost } from '../../shared/app/root';
import type { AppHost } from '../../shared/http/host';
import { poisonQueueName } from '../../shared/platform/names';
import { LogEvents, parseEventLine } from '../../shared/platform/logging';

describe('historyPurgeFilter', () => {
  const now = new Date('2027-03-01T03:30:00Z');

  it('selects finished instances created before now less the retention', () => {
    const filter = historyPurgeFilter(now, 30);
    expect(filter.createdTimeTo.toISOString()).toBe('2027-01-30T03:30:00.000Z');
    expect(filter.createdTimeFrom.getTime()).toBe(0);
    expect(filter.runtimeStatus.sort()).toEqual(['Completed', 'Failed', 'Terminated']);
  });

  it('never selects an instance that may still change', () => {
    for (const state of ['Running', 'Pending', 'Suspended', 'ContinuedAsNew']) expect(historyPurgeFilter(now, 1).runtimeStatus).not.toContain(state);
  });

  it('refuses a retention under one day', () => {
    expect(() => historyPurgeFilter(now, 0)).toThrow(RangeError);
    expect(() => historyPurgeFilter(now, 1.5)).toThrow(RangeError);
  });
});

describe('housekeepingTimer', () => {
  let azurite: AzuriteHandle;
  let infra: Infrastructure;
  let host: AppHost;
  const clock = new Date('2027-03-01T03:30:00Z');
  const lines: string[] = [];
  const purges: HistoryPurgeFilter[] = [];

  beforeAll(async () => {
    azurite = await startAzurite({ location: mkdtempSync(path.join(os.tmpdir(), 'o2-housekeeping-')) });
    infra = createInfrastructure(readSettings({ AzureWebJobsStorage: azurite.connectionString, HISTORY_RETENTION_DAYS: '45' }));
    await ensureInfrastructure(infra);
    host = createAppHost(infra, { startRun: () => Promise.reject(new Error('no runs here')), getInstance: async () => undefined }, () => clock);
    useAppHost(host);
    // A finished run that left one item unmapped: the backlog's oldest entry.
    const runId = 'run-20270210T020000Z-aaaaaa';
    await infra.runs.createRun({
      runId, instanceId: 'window-x', trigger: 'timer', readFrom: '2027-02-09T00:00:00.000Z',
      window: { from: '2027-02-09T00:00:00.000Z', to: '2027-02-10T00:00:00.000Z' },
      startedAt: '2027-02-10T02:00:00.000Z', finishedAt: null, status: 'running',
    });
    await infra.runs.claimItems(runId, [{ itemKey: 'a'.repeat(64), itemId: 'tm-1', type: 'sms' }], 'm1');
    await infra.runs.setItemOutcome(runId, { itemKey: 'a'.repeat(64), itemId: 'tm-1', type: 'sms', outcome: 'unmapped', unmappedNumbers: ['+447700900999'] });
    await infra.runs.updateRun(runId, { status: 'completed-with-failures', finishedAt: '2027-02-10T02:10:00.000Z' });
    // Two messages waiting in one poison queue.
    const mapPoison = infra.storage.queue(poisonQueueName('map'));
    await mapPoison.sendMessage(JSON.stringify({ body: {}, reason: 'poisoned' }));
    await mapPoison.sendMessage(JSON.stringify({ body: {}, reason: 'poisoned' }));
  }, 60_000);

  afterAll(async () => {
    useAppHost(undefined);
    await azurite?.stop();
  });

  function context(): InvocationContext {
    return new InvocationContext({ functionName: 'housekeepingTimer', logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')) });
  }

  function event(name: (typeof LogEvents)[keyof typeof LogEvents]): Record<string, unknown> | undefined {
    return lines.map((l) => parseEventLine(name, l)).find((e) => e !== undefined);
  }

  it('purges finished history older than HISTORY_RETENTION_DAYS and logs the backlog and the poison queues', async () => {
    lines.length = 0;
    host.history = {
      async purgeInstanceHistoryBy(filter) {
        purges.push(filter);
        return { instancesDeleted: 3 };
      },
    };
    const result = await housekeepingTimer({ isPastDue: false } as Timer, context());
    expect(purges).toHaveLength(1);
    expect(purges[0].createdTimeTo.toISOString()).toBe('2027-01-15T03:30:00.000Z');
    expect(purges[0].runtimeStatus).toEqual([...FINISHED_RUNTIME_STATES]);
    expect(result.instancesDeleted).toBe(3);
    expect(event(LogEvents.historyPurged)).toEqual({ olderThan: '2027-01-15T03:30:00.000Z', instancesDeleted: 3 });
    expect(event(LogEvents.backlog)).toEqual({ total: 1, unmapped: 1, failed: 0, oldestSince: '2027-02-10T02:10:00.000Z', oldestAgeHours: 457 });
    expect(event(LogEvents.poison)).toMatchObject({ total: 2, queues: { 'o2-map-poison': 2, 'o2-fetch-poison': 0, 'o2-import-poison': 0 } });
    // Counts and times only: no phone number reaches the log.
    expect(lines.join('\n')).not.toContain('447700900999');
  });

  it('still logs the backlog and the poison queues when the purge fails, and then fails the invocation', async () => {
    lines.length = 0;
    host.history = {
      async purgeInstanceHistoryBy() {
        throw new Error('task hub unavailable');
      },
    };
    await expect(housekeepingTimer({ isPastDue: false } as Timer, context())).rejects.toThrow('task hub unavailable');
    expect(event(LogEvents.historyPurged)).toBeUndefined();
    expect(event(LogEvents.backlog)).toMatchObject({ total: 1 });
    expect(event(LogEvents.poison)).toMatchObject({ total: 2 });
    expect(lines.some((l) => /purging Durable history .* failed: .*task hub unavailable/.test(l))).toBe(true);
  });

  it('without a Durable client (the local driver) purges nothing and says so', async () => {
    lines.length = 0;
    host.history = undefined;
    const result = await housekeepingTimer({ isPastDue: false } as Timer, context());
    expect(result.instancesDeleted).toBeNull();
    expect(lines.some((l) => /no history to purge/.test(l))).toBe(true);
    expect(event(LogEvents.backlog)).toMatchObject({ total: 1 });
  });
});
