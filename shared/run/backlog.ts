/**
 * The re-drive backlog: the unmapped and failed items of finished runs that
 * no later run has fixed, with how long each has waited. The latest run to
 * touch an item decides whether it is still owed: a re-drive (or a timer
 * run's settle re-read) that imports it clears it; one that fails it again
 * keeps it, with its first failure's age.
 *
 * Kept as it changes: one row per owed item (and mailbox) beside the run
 * records, updated from a run's own rows when it finishes, so that reading
 * the backlog costs what is owed, never the history of runs. The rows are
 * built once from the last 100 runs where they are missing (an upgrade).
 * Runs apply in the order they finish.
 */
import type { TransactionAction } from '@azure/data-tables';
import { isRawKey, type ItemType } from '../model/item';
import { RunTableRows } from '../platform/names';
import { isStatus, listAll, odataQuote, safeKey, submitAll } from '../platform/tables';
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
  /** How many recent runs to look through for running re-drives; default 100. */
  runs?: number;
  /** How many entries to return; default 500. */
  limit?: number;
}

interface RunRows {
  run: RunRecord;
  items: readonly RunItemRow[];
  units: readonly RunUnitRow[];
}

type OwedEntry = Omit<BacklogEntry, 'ageInSeconds' | 'redrivingIn'>;
/** What is owed for one item, by mailbox ('' for the item itself). */
type OwedOfItem = Map<string, OwedEntry>;

/** What a finished run leaves owed for one of its items, given what was owed for it before (the run decides all of it). */
function owedAfter(run: RunRecord, item: RunItemRow, units: readonly RunUnitRow[], before: OwedOfItem | undefined): OwedOfItem {
  const finishedAt = run.finishedAt ?? run.startedAt;
  const now: OwedOfItem = new Map();
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
    for (const unit of units) {
      if (unit.outcome === 'failed') add(unit.mailbox, unit.reason ?? 'failed', unit.detail ?? '');
      else if (unit.outcome === 'pending') add(unit.mailbox, 'no-outcome', 'the unit was never imported');
    }
  }
  // tooLarge and invalid are final: no retry changes them, so they are not owed.
  return now;
}

/** Applies one finished run's rows to what is owed (in place); returns the items whose entries changed. */
function applyRun(owed: Map<string, OwedOfItem>, run: RunRecord, items: readonly RunItemRow[], units: readonly RunUnitRow[]): Set<string> {
  const unitsByItem = new Map<string, RunUnitRow[]>();
  for (const unit of units) {
    const list = unitsByItem.get(unit.itemKey);
    if (list) list.push(unit);
    else unitsByItem.set(unit.itemKey, [unit]);
  }
  const touched = new Set<string>();
  for (const item of items) {
    if (isRawKey(item.itemKey)) continue;
    const before = owed.get(item.itemKey);
    const now = owedAfter(run, item, unitsByItem.get(item.itemKey) ?? [], before);
    if (now.size === 0 && !before) continue;
    touched.add(item.itemKey);
    if (now.size > 0) owed.set(item.itemKey, now);
    else owed.delete(item.itemKey);
  }
  return touched;
}

/** The backlog as shown: every owed entry with its age, oldest first, and the counts. */
function summarize(owed: Iterable<OwedEntry>, running: ReadonlyMap<string, string>, options: BacklogOptions): Backlog {
  const nowMs = options.now.getTime();
  const all: BacklogEntry[] = [];
  for (const entry of owed) {
    const redrivingIn = running.get(entry.itemKey);
    all.push({
      ...entry,
      ageInSeconds: Math.max(0, Math.floor((nowMs - Date.parse(entry.since)) / 1000)),
      ...(redrivingIn ? { redrivingIn } : {}),
    });
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

/** The backlog by its definition, from runs and their rows, oldest run first: the kept rows must always equal it (test/shared/backlog.test.ts); the rebuild applies runs as it does. */
export function computeBacklog(runs: readonly RunRows[], options: BacklogOptions): Backlog {
  const owed = owedByItem(runs);
  const running = new Map<string, string>();
  for (const { run, items } of runs) if (run.status === 'running' && run.redriveOf) for (const item of items) running.set(item.itemKey, run.runId);
  return summarize(entriesOf(owed), running, options);
}

function owedByItem(runs: readonly RunRows[]): Map<string, OwedOfItem> {
  const owed = new Map<string, OwedOfItem>();
  const ordered = [...runs].sort((a, b) => a.run.startedAt.localeCompare(b.run.startedAt));
  for (const { run, items, units } of ordered) if (run.status !== 'running') applyRun(owed, run, items, units);
  return owed;
}

function* entriesOf(owed: Map<string, OwedOfItem>): Iterable<OwedEntry> {
  for (const entries of owed.values()) yield* entries.values();
}

function firstSince(entries: Map<string, { since: string }> | undefined): string | undefined {
  if (!entries || entries.size === 0) return undefined;
  return [...entries.values()].map((e) => e.since).sort()[0];
}

interface BacklogRow {
  partitionKey: string;
  rowKey: string;
  json: string;
}

const RECENT_RUNS = 100;

function rowKeyOf(entry: OwedEntry): string {
  return safeKey(`${entry.itemKey}|${entry.mailbox ?? ''}`);
}

/** The owed entries as stored, by item. */
async function readOwed(runs: RunStore): Promise<Map<string, OwedOfItem>> {
  const rows = await listAll<BacklogRow>(runs.recordsTable, `PartitionKey eq ${odataQuote(RunTableRows.backlogPartition)}`);
  const owed = new Map<string, OwedOfItem>();
  for (const row of rows) {
    const entry = JSON.parse(row.json) as OwedEntry;
    const entries = owed.get(entry.itemKey) ?? new Map<string, OwedEntry>();
    entries.set(entry.mailbox ?? '', entry);
    owed.set(entry.itemKey, entries);
  }
  return owed;
}

/** Writes the entries of `touched` items as `after` holds them: upserts what is owed, deletes what no longer is. */
async function writeOwed(runs: RunStore, before: Map<string, OwedOfItem>, after: Map<string, OwedOfItem>, touched: Iterable<string>): Promise<void> {
  const table = runs.recordsTable;
  const partitionKey = RunTableRows.backlogPartition;
  const actions: TransactionAction[] = [];
  for (const itemKey of touched) {
    const now = after.get(itemKey);
    for (const [mailbox, entry] of before.get(itemKey) ?? []) {
      if (!now?.has(mailbox)) actions.push(['delete', { partitionKey, rowKey: rowKeyOf(entry) }]);
    }
    for (const entry of now?.values() ?? []) {
      actions.push(['upsert', { partitionKey, rowKey: rowKeyOf(entry), json: JSON.stringify(entry) }, 'Replace']);
    }
  }
  await submitAll(table, actions, async ([kind, entity]) => {
    if (kind === 'delete') await table.deleteEntity(entity.partitionKey!, entity.rowKey!).catch((e) => { if (!isStatus(e, 404)) throw e; });
    else await table.upsertEntity(entity, 'Replace');
  });
}

/** Builds the backlog rows from the last 100 runs once, where they were never built (a store from before they were kept). */
async function ensureBuilt(runs: RunStore): Promise<void> {
  const table = runs.recordsTable;
  try {
    await table.getEntity(RunTableRows.backlogBuiltPartition, 'built');
    return;
  } catch (e) {
    if (!isStatus(e, 404)) throw e;
  }
  const records = await runs.listRuns(RECENT_RUNS);
  const rows = await Promise.all(records.filter((r) => r.status !== 'running').map(async (run) => ({ run, items: await runs.listItems(run.runId), units: await runs.listUnits(run.runId) })));
  const built = owedByItem(rows);
  await writeOwed(runs, await readOwed(runs), built, built.keys());
  await table.upsertEntity({ partitionKey: RunTableRows.backlogBuiltPartition, rowKey: 'built', at: new Date().toISOString() }, 'Replace');
}

/**
 * Applies a finished run (its record already final) to the backlog rows:
 * each of its items is owed now as this run left it, or no longer. Safe to
 * repeat (a retried finish): the run's own entries keep their first time.
 */
export async function applyFinishedRun(runs: RunStore, run: RunRecord, items: readonly RunItemRow[], units: readonly RunUnitRow[]): Promise<void> {
  await ensureBuilt(runs);
  const before = await readOwed(runs);
  const after = new Map([...before].map(([k, v]) => [k, new Map(v)]));
  const touched = applyRun(after, run, items, units);
  await writeOwed(runs, before, after, touched);
}

/** Reads the backlog as it stands: its rows, and the items of re-drives running now. */
export async function readBacklog(runs: RunStore, options: BacklogOptions): Promise<Backlog> {
  await ensureBuilt(runs);
  const [owed, recent] = await Promise.all([readOwed(runs), runs.listRuns(options.runs ?? RECENT_RUNS)]);
  const running = new Map<string, string>();
  for (const run of recent.filter((r) => r.status === 'running' && r.redriveOf)) {
    for (const item of await runs.listItems(run.runId)) running.set(item.itemKey, run.runId);
  }
  return summarize(entriesOf(owed), running, options);
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
