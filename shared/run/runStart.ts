/**
 * Starting a run: the decisions every starter (timer, HTTP, CLI, re-drive)
 * shares, so that they differ only in how they reach the orchestration.
 */
import { randomBytes } from 'node:crypto';
import type { Settings } from '../platform/config';
import type { TimeWindow } from '../model/item';
import type { ArchiveRunInput, RunTuning } from './orchestration';
import type { RunTrigger } from './runs';
import { ArchiverError, isArchiverError } from '../model/errors';
import type { ActivityLog } from '../platform/logging';
import type { WatermarkStore } from './watermark';
import { instanceIdForWindow, scheduledWindow, windowTooLong } from './window';

export interface StartRunRequest {
  trigger: RunTrigger;
  window: TimeWindow;
  /** Where reading starts; the window's start unless a settle period is read again. */
  readFrom?: string;
  redriveOf?: string;
}

export interface StartedRun {
  runId: string;
  instanceId: string;
  /** started: a new instance; resumed: a dead process's instance taken over; restarted: a finished window run again. */
  outcome: 'started' | 'resumed' | 'restarted';
}

/** Starts and looks up runs: Durable's client in Azure, the local driver elsewhere. */
export interface RunStarter {
  /** Starts the run of a window; throws a CONFLICT ArchiverError while that window is running. */
  startRun(request: StartRunRequest): Promise<StartedRun>;
  /** The orchestration's custom status and runtime state, when the instance exists. */
  getInstance(instanceId: string): Promise<{ runtimeStatus: string; customStatus?: unknown; output?: unknown } | undefined>;
}

/** A run id apart from the instance id: sortable by start time, unique. */
export function newRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `run-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** Tuning from settings, fixed into the orchestration's input at start. */
export function tuningFromSettings(settings: Settings): RunTuning {
  return {
    workersPerStage: settings.MAX_PARALLEL_ACTIVITIES,
    importWorkers: Math.max(1, Math.ceil(settings.IMPORT_MAX_MAILBOXES / settings.IMPORT_MAILBOXES_PER_ACTIVITY)),
    pollIntervalInSeconds: Math.max(1, Math.min(30, Math.round(settings.QUEUE_VISIBILITY_TIMEOUT_SECONDS / 10))),
    callsPerExecution: 50,
  };
}

/**
 * The orchestration input of a run. Refuses (BAD_WINDOW) a window longer than
 * MAX_WINDOW_DAYS, whoever starts it: every starter checks it first for a clear
 * answer, and this is the guard behind them. A re-drive reads no source, so it
 * keeps its earlier run's window.
 */
export function buildRunInput(request: StartRunRequest, settings: Settings, runId: string): { instanceId: string; input: ArchiveRunInput } {
  const tooLong = request.redriveOf ? undefined : windowTooLong(request.window, settings.MAX_WINDOW_DAYS);
  if (tooLong) throw new ArchiverError('BAD_WINDOW', tooLong, { setting: 'MAX_WINDOW_DAYS' });
  const instanceId = request.redriveOf ? `redrive-${request.redriveOf}` : instanceIdForWindow(request.window);
  return {
    instanceId,
    input: {
      runId,
      trigger: request.trigger,
      window: request.window,
      readFrom: request.readFrom ?? request.window.from,
      ...(request.redriveOf ? { redriveOf: request.redriveOf } : {}),
      tuning: tuningFromSettings(settings),
    },
  };
}

export interface ScheduledRunOptions {
  now: Date;
  starter: RunStarter;
  watermarks: WatermarkStore;
  settleHours: number;
  /** MAX_WINDOW_DAYS: after a long outage the catch-up goes at most this many days per run. */
  maxWindowDays: number;
  log?: ActivityLog;
}

export type ScheduledRunResult =
  | { started: StartedRun; window: { from: string; to: string }; readFrom: string }
  | { skipped: 'up-to-date' | 'running'; detail: string };

/**
 * What the timer does: turns "now" and the watermark into a window (at most
 * `maxWindowDays` long, so a catch-up after a long outage starts as small as
 * any run and goes on run by run), read again `settleHours` behind the
 * watermark, and starts it; a window already running is left to the run that
 * has it.
 */
export async function startScheduledRun(options: ScheduledRunOptions): Promise<ScheduledRunResult> {
  const watermark = await options.watermarks.get();
  const plan = scheduledWindow(options.now, watermark?.at, options.settleHours, options.maxWindowDays);
  if (!plan) {
    const detail = `the watermark ${watermark?.at} is already at the start of today`;
    options.log?.info(`timer: nothing to do: ${detail}`);
    return { skipped: 'up-to-date', detail };
  }
  try {
    const started = await options.starter.startRun({ trigger: 'timer', window: plan.window, readFrom: plan.readFrom });
    options.log?.info(
      `timer: run ${started.runId} (${started.outcome}) of ${plan.window.from} .. ${plan.window.to}, reading from ${plan.readFrom}; watermark ${watermark?.at ?? 'none'}`,
    );
    return { started, ...plan };
  } catch (e) {
    if (!isArchiverError(e, 'CONFLICT')) throw e;
    // A start that finds the window running is not an error: the run that has it moves the watermark.
    options.log?.warn(`timer: window ${plan.window.from} .. ${plan.window.to} is already running; not started again`);
    return { skipped: 'running', detail: e.message };
  }
}
