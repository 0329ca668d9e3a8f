/**
 * The schedule's watermark: the instant up to which every timer window has
 * been archived. A timer run's window starts at the watermark and ends at the
 * start of the current UTC day, so days the timer missed are caught up; the
 * watermark moves to the window's end when the run has given every item of
 * its window an outcome (completed, or completed with failures: one bad item
 * never freezes the schedule; its failure stays in the re-drive backlog).
 *
 * Kept as one row beside the run records in the runs table, moved only
 * forward and only with the row's ETag, so two runs finishing at once cannot
 * move it back.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import { RunTableRows } from '../platform/names';
import type { RunRecord, RunStatus, RunStore } from './runs';

export interface Watermark {
  /** ISO 8601 UTC: every timer window before this instant has been archived. */
  at: string;
  /** The run that moved it there (or who set it by hand). */
  setBy: string;
  updatedAt: string;
}

interface WatermarkEntity {
  partitionKey: string;
  rowKey: string;
  at: string;
  setBy: string;
  updatedAt: string;
}

// ETag races are retried this many times; more means something keeps rewriting the row.
const MAX_ADVANCE_ATTEMPTS = 5;

/** The watermark row in Table storage. */
export class WatermarkStore {
  constructor(private readonly table: TableClient, private readonly now: () => Date = () => new Date()) {}

  /** The watermark, or undefined before the first timer run finished. */
  async get(): Promise<Watermark | undefined> {
    return (await this.read())?.watermark;
  }

  /** Sets the watermark unconditionally (an operator moving the schedule, or a test). */
  async set(at: string, setBy: string): Promise<Watermark> {
    const watermark: Watermark = { at: new Date(at).toISOString(), setBy, updatedAt: this.now().toISOString() };
    await this.table.upsertEntity(this.entity(watermark), 'Replace');
    return watermark;
  }

  /**
   * Moves the watermark to `to` when that is forward and `from` does not lie
   * beyond it (a window that starts after the watermark would leave a gap);
   * returns the new watermark, or undefined when it stays.
   */
  async advance(window: { from: string; to: string }, setBy: string): Promise<Watermark | undefined> {
    for (let attempt = 0; attempt < MAX_ADVANCE_ATTEMPTS; attempt++) {
      const current = await this.read();
      const next = nextWatermark(current?.watermark.at, window);
      if (!next) return undefined;
      const watermark: Watermark = { at: next, setBy, updatedAt: this.now().toISOString() };
      try {
        if (current) await this.table.updateEntity(this.entity(watermark), 'Replace', { etag: current.etag });
        else await this.table.createEntity(this.entity(watermark));
        return watermark;
      } catch (e) {
        // Another run moved it meanwhile: decide again against what it wrote.
        if (!(e instanceof RestError && (e.statusCode === 412 || e.statusCode === 409))) throw e;
      }
    }
    throw new Error(`the watermark kept changing under ${setBy}; it was left as it is`);
  }

  private entity(watermark: Watermark): WatermarkEntity {
    return { partitionKey: RunTableRows.watermarkPartition, rowKey: RunTableRows.watermarkRow, ...watermark };
  }

  private async read(): Promise<{ watermark: Watermark; etag: string } | undefined> {
    try {
      const e = await this.table.getEntity<WatermarkEntity>(RunTableRows.watermarkPartition, RunTableRows.watermarkRow);
      return { watermark: { at: e.at, setBy: e.setBy, updatedAt: e.updatedAt }, etag: e.etag };
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return undefined;
      throw e;
    }
  }
}

/** The watermark store of an app, kept in its runs table. */
export function watermarkStoreOf(runs: RunStore, now?: () => Date): WatermarkStore {
  return new WatermarkStore(runs.recordsTable, now);
}

/** Where the watermark goes after a window is archived: its end, when that moves it forward without a gap; else undefined. */
export function nextWatermark(current: string | undefined, window: { from: string; to: string }): string | undefined {
  const to = Date.parse(window.to);
  if (current === undefined) return new Date(to).toISOString();
  const at = Date.parse(current);
  if (Date.parse(window.from) > at || to <= at) return undefined;
  return new Date(to).toISOString();
}

/** True when a finished run lets the schedule move on: a timer run that gave every item of its window an outcome. */
export function movesWatermark(run: Pick<RunRecord, 'trigger'>, status: RunStatus): boolean {
  return run.trigger === 'timer' && (status === 'completed' || status === 'completed-with-failures');
}

/** Called by finishRun: moves the watermark to the run's window end when the run allows it; returns where it moved, if it did. */
export async function advanceWatermarkAfterRun(store: WatermarkStore, run: RunRecord, status: RunStatus): Promise<string | undefined> {
  if (!movesWatermark(run, status)) return undefined;
  return (await store.advance(run.window, run.runId))?.at;
}
