/**
 * The re-drive backlog: the unmapped and failed items of finished runs that
 * no later run has fixed, with how long each has waited. Read from the run
 * outcome rows, oldest run first, so that the latest run to touch an item
 * decides whether it is still owed: a re-drive (or a timer run's settle
 * re-read) that imports it clears it; one that fails it again keeps it,
 * with its first failure's age.
 */
import { isRawKey, type ItemType } from '../model/item';
import type { RunItemRow, RunRecord, RunStore, RunUnitRow } from './runs';

export interface BacklogEntry {
  itemKey: string;
  itemId: string | null;
  type: ItemType | 'unknown';
  /** The mailbox of a failed unit; null for an item that never reached a mailbox. */
  mailbox: string | null;
  /** `unmapped`, or the failure's reason code. */
  reason: string;
  detail: string;
  /** The latest finished run that left it owed: the one to re-drive. */
  runId: string;
  /** When it first failed (the finish of the first run that left it owed). */
  since: string;
  ageInSeconds: number;
  /** The unmapped item's numbers that found no user (E.164; mask before showing). */
  unmappedNumbers?: string[];
  /** A re-drive of it that is running now, if any. */
  redrivingIn?: string;
}

export interface Backlog {
  /** How many items and units are owed, counting those past `limit`. */
  total: number;
  unmapped: number;
  failed: number;
  /** Oldest first, at most `limit`. */
  entries: BacklogEntry[];
  /** The oldest entry's age, 0 when empty. */
  oldestAgeInSeconds: number;
}

export interface BacklogOptions {
  now: Date;
  /** How many recent runs to look through; default 100. */
  runs?: number;
  /** How many entries to return; default 500. */
  limit?: number;
}

interface RunRows {
  run: RunRecord;
  items: readonly RunItemRow[];
  units: readonly RunUnitRow[];
}

/** Computes the backlog from runs and their rows (pure: tests and the store-backed reader share it). */
export function computeBacklog(runs: readonly RunRows[], options: BacklogOptions): Backlog {
  // Keyed by item, then by mailbox ('' for the item itself): the latest run that saw the item replaces all of it.
  const owed = new Map<string, Map<string, Omit<BacklogEntry, 'ageInSeconds'>>>();
  const running = new Map<string, string>();
  const ordered = [...runs].sort((a, b) => a.run.startedAt.localeCompare(b.run.startedAt));
  for (const { run, items, units } of ordered) {
    if (run.status === 'running') {
      if (run.redriveOf) for (const item of items) running.set(item.itemKey, run.runId);
      continue;
    }
    const finishedAt = run.finishedAt ?? run.startedAt;
    const unitsByItem = new Map<string, RunUnitRow[]>();
    for (const unit of units) unitsByItem.set(unit.itemKey, [...(unitsByItem.get(unit.itemKey) ?? []), unit]);
    for (const item of items) {
      if (isRawKey(item.itemKey)) continue;
      const before = owed.get(item.itemKey);
      const now = new Map<string, Omit<BacklogEntry, 'ageInSeconds'>>();
      const add = (mailbox: string | null, reason: string, detail: string, extra: Partial<BacklogEntry> = {}) => {
        const key = mailbox ?? '';
        // An item owed before keeps its first failure's time, whatever it is owed for now.
        const since = before?.get(key)?.since ?? firstSince(before) ?? finishedAt;
        now.set(key, { itemKey: item.itemKey, itemId: item.itemId, type: item.type, mailbox, reason, detail, runId: run.runId, since, ...extra });
      };
      if (item.outcome === 'unmapped') add(null, 'unmapped', item.detail ?? '', { unmappedNumbers: item.unmappedNumbers ?? [] });
      else if (item.outcome === 'itemFailed' || item.outcome === undefined) {
        add(null, item.reason ?? 'no-outcome', item.detail ?? (item.outcome ? '' : 'the item left the pipeline without an outcome'));
      } else if (item.outcome === 'routed') {
        for (const unit of unitsByItem.get(item.itemKey) ?? []) {
          if (unit.outcome === 'failed') add(unit.mailbox, unit.reason ?? 'failed', unit.detail ?? '');
          else if (unit.outcome === 'pending') add(unit.mailbox, 'no-outcome', 'the unit was never imported');
        }
      }
      // tooLarge and invalid are final: no retry changes them, so they are not owed.
      if (now.size > 0) owed.set(item.itemKey, now);
      else owed.delete(item.itemKey);
    }
  }
  const nowMs = options.now.getTime();
  const all: BacklogEntry[] = [];
  for (const entries of owed.values()) {
    for (const entry of entries.values()) {
      const redrivingIn = running.get(entry.itemKey);
      all.push({
        ...entry,
        ageInSeconds: Math.max(0, Math.floor((nowMs - Date.parse(entry.since)) / 1000)),
        ...(redrivingIn ? { redrivingIn } : {}),
      });
    }
  }
  all.sort((a, b) => a.since.localeCompare(b.since) || (a.itemId ?? '').localeCompare(b.itemId ?? '') || (a.mailbox ?? '').localeCompare(b.mailbox ?? ''));
  const unmapped = all.filter((e) => e.reason === 'unmapped').length;
  return {
    total: all.length,
    unmapped,
    failed: all.length - unmapped,
    entries: all.slice(0, options.limit ?? 500),
    oldestAgeInSeconds: all.length > 0 ? all[0].ageInSeconds : 0,
  };
}

function firstSince(entries: Map<string, { since: string }> | undefined): string | undefined {
  if (!entries || entries.size === 0) return undefined;
  return [...entries.values()].map((e) => e.since).sort()[0];
}

/** Reads the recent runs and their rows and computes the backlog. */
export async function readBacklog(runs: RunStore, options: BacklogOptions): Promise<Backlog> {
  const records = await runs.listRuns(options.runs ?? 100);
  const rows = await Promise.all(
    records.map(async (run) => ({ run, items: await runs.listItems(run.runId), units: await runs.listUnits(run.runId) })),
  );
  return computeBacklog(rows, options);
}

/** An age for people: `3 d 4 h`, `5 h 12 min`, `40 s`. */
export function formatAge(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min`;
  return `${seconds} s`;
}
