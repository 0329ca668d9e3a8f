/**
 * Read models shared by the HTTP API, the dashboard and `o2-archiver runs`:
 * a run's report (the stored one once finished, computed live from the
 * outcome rows while it runs) and summaries of recent runs.
 */
import { RestError } from '@azure/data-tables';
import { reportBlobNames, RunTableRows } from '../platform/names';
import { buildReport, type ReportCounts, type RunReport } from '../run/report';
import type { BlobPort } from '../platform/storage';
import type { RunRecord, RunStore } from '../run/runs';

export interface RunReadPorts {
  runs: RunStore;
  blobs: BlobPort;
}

export interface RunSummary {
  runId: string;
  instanceId: string;
  trigger: RunRecord['trigger'];
  status: RunReport['status'];
  window: { from: string; to: string };
  readFrom: string;
  startedAt: string;
  finishedAt: string | null;
  redriveOf?: string;
  error?: string;
  counts: ReportCounts;
}

/** One run's report: stored once the run finished, live from its rows while it runs; undefined for an unknown run. */
export async function loadReport(ports: RunReadPorts, runId: string): Promise<RunReport | undefined> {
  const run = (await ports.runs.getRun(runId)) ?? (await acceptedRun(ports.runs, runId));
  if (!run) return undefined;
  return reportOf(ports, run);
}

/**
 * Notes a run accepted over HTTP: its orchestration writes the run record a
 * moment later (beginRun), and until then its status URL answers from this.
 */
export async function noteAcceptedRun(runs: RunStore, run: RunRecord): Promise<void> {
  await runs.recordsTable.upsertEntity({ partitionKey: RunTableRows.acceptedPartition, rowKey: run.runId, json: JSON.stringify(run) }, 'Replace');
}

async function acceptedRun(runs: RunStore, runId: string): Promise<RunRecord | undefined> {
  try {
    const entity = await runs.recordsTable.getEntity<{ json: string }>(RunTableRows.acceptedPartition, runId);
    return JSON.parse(entity.json) as RunRecord;
  } catch (e) {
    if (e instanceof RestError && e.statusCode === 404) return undefined;
    throw e;
  }
}

/** The report of a known run record. */
export async function reportOf(ports: RunReadPorts, run: RunRecord): Promise<RunReport> {
  if (run.status !== 'running') {
    const stored = await ports.blobs.getText('reports', reportBlobNames(run.runId).report).then((t) => JSON.parse(t) as RunReport, () => undefined);
    if (stored) return stored;
  }
  const [items, units, runErrors] = await Promise.all([
    ports.runs.listItems(run.runId),
    ports.runs.listUnits(run.runId),
    ports.runs.listRunErrors(run.runId),
  ]);
  // While it runs, items and units without an outcome are in progress, not failures.
  return buildReport(run, items, units, { final: run.status !== 'running', finishedAt: run.finishedAt ?? undefined, runErrors });
}

/** Recent runs with their counts, newest first. */
export async function recentRuns(ports: RunReadPorts, limit: number): Promise<{ summary: RunSummary; report: RunReport }[]> {
  const runs = await ports.runs.listRuns(limit);
  return Promise.all(
    runs.map(async (run) => {
      const report = await reportOf(ports, run);
      return { summary: summaryOf(run, report), report };
    }),
  );
}

/** The summary line of a run. */
export function summaryOf(run: RunRecord, report: RunReport): RunSummary {
  return {
    runId: run.runId,
    instanceId: run.instanceId,
    trigger: run.trigger,
    status: report.status,
    window: run.window,
    readFrom: run.readFrom,
    startedAt: run.startedAt,
    finishedAt: report.finishedAt,
    ...(run.redriveOf ? { redriveOf: run.redriveOf } : {}),
    ...(report.error ? { error: report.error } : {}),
    counts: report.counts,
  };
}
