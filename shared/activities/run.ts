/**
 * The run's own activities: begin (the run record and the slices or the
 * re-driven items), queue depths for the orchestrator, and finish (the report).
 */
import { describeError } from '../model/errors';
import { poisonLine } from '../run/housekeeping';
import { eventLine, LogEvents } from '../platform/logging';
import { reportBlobNames, StageOrder, type StageName } from '../platform/names';
import { buildReport, failuresCsv, type RunReport } from '../run/report';
import type { RunRecord } from '../run/runs';
import type { SettleRunInput } from '../stages/staging/retention';
import { applyFinishedRun } from '../run/backlog';
import { beginRedrive } from '../run/redrive';
import { advanceWatermarkAfterRun, watermarkStoreOf } from '../run/watermark';
import { countSlices, sliceChunks } from '../run/window';

// Fetch messages are made and sent this many at a time, so even the longest window starts in bounded memory.
const SLICES_PER_SEND = 500;
import type { BeginRunInput, BeginRunResult, FinishRunInput, FinishRunResult, QueueDepths, QueueDepthsInput, RunRef } from '../run/messages';
import type { ActivityContext } from './types';

/** Creates the run's queues and record and puts one fetch message per slice of the read window (or the re-driven items on their queues). */
export async function beginRun({ deps, log }: ActivityContext, input: BeginRunInput): Promise<BeginRunResult> {
  const { runs, settings } = deps;
  // A new storage account has none of the shared queues, tables and containers yet; a run has queues of its own.
  await deps.ensureStorage();
  await deps.queues.ensure(input.runId);
  const queues = deps.queues.of(input.runId);
  const run: RunRecord = {
    runId: input.runId, instanceId: input.instanceId, trigger: input.trigger, window: input.window,
    readFrom: input.readFrom, startedAt: input.startedAt, finishedAt: null, status: 'running',
    ...(input.redriveOf ? { redriveOf: input.redriveOf } : {}),
  };
  const existing = await runs.getRun(input.runId);
  if (existing) {
    // A retried begin: its messages are queued (the record comes last); the orchestrator reads the depths.
    return { slices: existing.redriveOf ? 0 : countSlices({ from: existing.readFrom, to: existing.window.to }, settings.SLICE_MINUTES), queued: {} };
  }
  if (input.redriveOf) {
    // Like the slices: the items are claimed and queued before the record marks the begin as done.
    const redriven = await beginRedrive({ runId: input.runId, redriveOf: input.redriveOf }, { runs, queues, staging: deps.staging, log });
    await runs.createRun(run);
    return { slices: 0, queued: { convert: redriven.convertBatches, map: redriven.mapBatches } };
  }
  const read = { from: input.readFrom, to: input.window.to };
  // The record is written after the messages: a retried beginRun that finds it knows the slices are queued.
  let slices = 0;
  for (const chunk of sliceChunks(read, settings.SLICE_MINUTES, SLICES_PER_SEND)) {
    await queues.fetch.sendMany(chunk.map((slice) => ({ runId: input.runId, slice })));
    slices += chunk.length;
  }
  await runs.createRun(run);
  log.info(`run ${input.runId}: ${slices} slices of ${input.readFrom} .. ${input.window.to} queued`);
  return { slices, queued: { fetch: slices } };
}

/** How much of the run's work waits (or is leased) in its stage queues: all of them, or the `stages` asked for. */
export async function queueDepths({ deps }: ActivityContext, { runId, stages }: QueueDepthsInput): Promise<Partial<QueueDepths>> {
  const queues = deps.queues.of(runId);
  const entries = await Promise.all((stages ?? StageOrder).map(async (stage) => [stage, await queues[stage].depth()] as const));
  return Object.fromEntries(entries) as Partial<QueueDepths>;
}

/** The `o2.run` line of a finished run's report: what the alert rules read (ids, status, window, counts; never content). */
export function runFinishedLine(report: Pick<RunReport, 'runId' | 'trigger' | 'status' | 'window' | 'finishedAt' | 'counts'>): string {
  return eventLine(LogEvents.runFinished, {
    runId: report.runId,
    trigger: report.trigger,
    status: report.status,
    window: { from: report.window.from, to: report.window.to },
    finishedAt: report.finishedAt,
    counts: { ...report.counts },
  });
}

/** Computes the report, writes it (JSON and failures CSV), closes the run record and moves the watermark. */
export async function finishRun({ deps, log }: ActivityContext, input: FinishRunInput): Promise<FinishRunResult> {
  const { runs, blobs } = deps;
  const run = await runs.getRun(input.runId);
  if (!run) throw new RangeError(`no run ${input.runId}`);
  if (input.error) await runs.addRunError(input.runId, 'orchestration', input.error);
  const [items, units, errors] = await Promise.all([runs.listItems(input.runId), runs.listUnits(input.runId), runs.listRunErrors(input.runId)]);
  const report = buildReport(run, items, units, { final: true, finishedAt: input.finishedAt, runErrors: errors });
  const names = reportBlobNames(input.runId);
  await blobs.putText('reports', names.report, JSON.stringify(report, null, 2), 'application/json');
  await blobs.putText('reports', names.failuresCsv, failuresCsv(report), 'text/csv');
  const finished = await runs.updateRun(input.runId, { status: report.status, finishedAt: report.finishedAt, ...(report.error ? { error: report.error } : {}) });
  // The backlog is kept as runs finish, from the rows just read for the report.
  await applyFinishedRun(runs, finished, items, units);
  log.info(`run ${input.runId}: ${report.status} ${JSON.stringify(report.counts)}`);
  // The line the alert rules read (infra/main.bicep): ids, status and counts only.
  log.info(runFinishedLine(report));
  // Its queues are empty now (the orchestrator finishes only once they are drained).
  await deps.queues.remove(input.runId);
  const watermark = await advanceWatermarkAfterRun(watermarkStoreOf(runs), run, report.status);
  if (watermark) log.info(`run ${input.runId}: watermark moved to ${watermark}`);
  await settleForRetention({ deps, log }, { runId: input.runId, items, startedAt: run.startedAt, settledAt: report.finishedAt ?? input.finishedAt, reusedItems: !!run.redriveOf });
  if (deps.poisonDepths) {
    try {
      log.info(poisonLine(await deps.poisonDepths()));
    } catch (e) {
      log.warn(`run ${input.runId}: the poison queues could not be read: ${describeError(e)}`);
    }
  }
  return { runId: input.runId, status: report.status, counts: report.counts, ...(report.error ? { error: report.error } : {}) };
}

/**
 * Marks the run's blobs for the lifecycle rule (shared/stages/staging/retention.ts). A
 * failure only keeps the blobs longer (an unmarked blob is never deleted), so
 * it is logged, not thrown: the report is what the run owes.
 */
async function settleForRetention({ deps, log }: Pick<ActivityContext, 'deps' | 'log'>, input: SettleRunInput): Promise<void> {
  if (!deps.retention) return;
  try {
    const marked = await deps.retention.settleRun(input);
    log.info(eventLine(LogEvents.retention, { runId: input.runId, items: marked.items, blobs: marked.blobs }));
  } catch (e) {
    log.warn(eventLine(LogEvents.retention, { runId: input.runId, error: describeError(e) }));
  }
}
