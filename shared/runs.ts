/**
 * Run records and what each run did to each item and unit, in Table storage.
 * Every write is keyed and idempotent, so a retried activity never counts
 * an item twice; the report is computed from these rows.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import type { ItemType, TimeWindow } from './item';

export type RunTrigger = 'timer' | 'http' | 'cli' | 'redrive';
export type RunStatus = 'running' | 'completed' | 'completed-with-failures' | 'failed';
export type ItemOutcome = 'routed' | 'tooLarge' | 'unmapped' | 'invalid' | 'itemFailed';
export type UnitOutcome = 'pending' | 'imported' | 'partial' | 'duplicate' | 'failed';

export interface RunRecord {
  runId: string;
  instanceId: string;
  trigger: RunTrigger;
  window: TimeWindow;
  /** Where reading starts: the window's start, or earlier by the settle period. */
  readFrom: string;
  startedAt: string;
  finishedAt: string | null;
  status: RunStatus;
  error?: string;
  /** For a re-drive: the run whose items it imports again. */
  redriveOf?: string;
}

export interface RunItemRow {
  itemKey: string;
  itemId: string | null;
  type: ItemType | 'unknown';
  outcome?: ItemOutcome;
  reason?: string;
  detail?: string;
  unmappedNumbers?: string[];
  /** The stage message that claimed the item for this run (redeliveries of it may go on). */
  claimedBy?: string;
}

export interface RunUnitRow {
  mailboxId: string;
  mailbox: string;
  itemKey: string;
  itemId: string;
  type: ItemType;
  outcome: UnitOutcome;
  reason?: string;
  detail?: string;
}

/** A unit row as stored, with the ETag its next conditional write needs. */
export interface StoredUnit {
  row: RunUnitRow;
  etag: string;
}

const SUCCESSES: readonly UnitOutcome[] = ['imported', 'partial', 'duplicate'];

/**
 * Whether a unit's outcome in a run may move from `current` to `next`: a
 * pending unit takes any outcome; a failure gives way only to a success (a
 * worker that raced another may have recorded its own failure first); a
 * success is never replaced, so no report calls an imported unit failed.
 */
export function unitOutcomeMayChange(current: UnitOutcome, next: UnitOutcome): boolean {
  if (current === 'pending') return next !== 'pending';
  return current === 'failed' && SUCCESSES.includes(next);
}

export interface RunTables {
  runs: TableClient;
  items: TableClient;
  units: TableClient;
}

const RUN_PARTITION = 'run';

/** Run records, per-run item and unit outcomes, and run errors. */
export class RunStore {
  constructor(private readonly tables: RunTables) {}

  /** The runs table, for rows kept beside the run records (the schedule's watermark). */
  get recordsTable(): TableClient {
    return this.tables.runs;
  }

  /** Creates the tables when missing. */
  async ensure(): Promise<void> {
    await Promise.all(Object.values(this.tables).map((t) => createTable(t)));
  }

  /** Creates the run record unless it exists (a retried start keeps the first). */
  async createRun(run: RunRecord): Promise<RunRecord> {
    try {
      await this.tables.runs.createEntity({ partitionKey: RUN_PARTITION, rowKey: run.runId, json: JSON.stringify(run) });
      return run;
    } catch (e) {
      if (isStatus(e, 409)) return (await this.getRun(run.runId))!;
      throw e;
    }
  }

  /** The run record, or undefined. */
  async getRun(runId: string): Promise<RunRecord | undefined> {
    try {
      const entity = await this.tables.runs.getEntity<{ json: string }>(RUN_PARTITION, runId);
      return JSON.parse(entity.json) as RunRecord;
    } catch (e) {
      if (isStatus(e, 404)) return undefined;
      throw e;
    }
  }

  /** Replaces the run record's fields with `patch`. */
  async updateRun(runId: string, patch: Partial<RunRecord>): Promise<RunRecord> {
    const run = await this.getRun(runId);
    if (!run) throw new RangeError(`no run ${runId}`);
    const next = { ...run, ...patch };
    await this.tables.runs.upsertEntity({ partitionKey: RUN_PARTITION, rowKey: runId, json: JSON.stringify(next) }, 'Replace');
    return next;
  }

  /** Recent runs, newest first. */
  async listRuns(limit = 50): Promise<RunRecord[]> {
    const runs: RunRecord[] = [];
    for await (const e of this.tables.runs.listEntities<{ json: string }>({
      queryOptions: { filter: `PartitionKey eq '${RUN_PARTITION}'` },
    })) {
      runs.push(JSON.parse(e.json) as RunRecord);
    }
    return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, limit);
  }

  /** Records a run-level error (a slice that could not be read, a refused login), once per key. */
  async addRunError(runId: string, key: string, message: string): Promise<void> {
    await this.tables.runs.upsertEntity({ partitionKey: `errors|${runId}`, rowKey: safeKey(key), message }, 'Replace');
  }

  /** The run-level errors of a run. */
  async listRunErrors(runId: string): Promise<string[]> {
    const errors: string[] = [];
    for await (const e of this.tables.runs.listEntities<{ message: string }>({
      queryOptions: { filter: `PartitionKey eq '${escape(`errors|${runId}`)}'` },
    })) {
      errors.push(e.message);
    }
    return errors;
  }

  /**
   * Claims an item for this run on behalf of one stage message: 'new' the
   * first time, 'same' when that message comes back (a redelivery), and
   * 'duplicate' when another record with the same id got there first.
   */
  async claimItem(runId: string, row: Pick<RunItemRow, 'itemKey' | 'itemId' | 'type'>, messageId: string): Promise<'new' | 'same' | 'duplicate'> {
    try {
      await this.tables.items.createEntity({ partitionKey: runId, rowKey: row.itemKey, json: JSON.stringify({ ...row, claimedBy: messageId }) });
      return 'new';
    } catch (e) {
      if (!isStatus(e, 409)) throw e;
      const existing = await this.getItem(runId, row.itemKey);
      return existing?.claimedBy === messageId ? 'same' : 'duplicate';
    }
  }

  /** The item's row in this run. */
  async getItem(runId: string, itemKey: string): Promise<RunItemRow | undefined> {
    try {
      const entity = await this.tables.items.getEntity<{ json: string }>(runId, itemKey);
      return JSON.parse(entity.json) as RunItemRow;
    } catch (e) {
      if (isStatus(e, 404)) return undefined;
      throw e;
    }
  }

  /** Sets the item's outcome in this run (idempotent). */
  async setItemOutcome(runId: string, row: RunItemRow): Promise<void> {
    const existing = await this.getItem(runId, row.itemKey);
    const next = { ...existing, ...row };
    await this.tables.items.upsertEntity({ partitionKey: runId, rowKey: row.itemKey, json: JSON.stringify(next) }, 'Replace');
  }

  /**
   * Sets the item's outcome only while it has none: how a poisoned message
   * records its failure without overwriting what a stage already decided
   * (conditional on the row's ETag). False when the item had an outcome.
   */
  async setItemOutcomeIfNone(runId: string, row: RunItemRow): Promise<boolean> {
    for (let round = 0; round < 5; round++) {
      let existing: { json: string; etag: string } | undefined;
      try {
        existing = await this.tables.items.getEntity<{ json: string }>(runId, row.itemKey);
      } catch (e) {
        if (!isStatus(e, 404)) throw e;
      }
      const current = existing ? (JSON.parse(existing.json) as RunItemRow) : undefined;
      if (current?.outcome) return false;
      const entity = { partitionKey: runId, rowKey: row.itemKey, json: JSON.stringify({ ...current, ...row }) };
      try {
        if (existing) await this.tables.items.updateEntity(entity, 'Replace', { etag: existing.etag });
        else await this.tables.items.createEntity(entity);
        return true;
      } catch (e) {
        if (!isStatus(e, 409) && !isStatus(e, 412) && !isStatus(e, 404)) throw e;
      }
    }
    throw new RangeError(`item row ${runId}/${row.itemKey} kept changing while its failure was recorded`);
  }

  /** Every item row of the run. */
  async listItems(runId: string): Promise<RunItemRow[]> {
    return listJson<RunItemRow>(this.tables.items, runId);
  }

  /** Adds the run's import units as pending, leaving any already there untouched. */
  async addUnits(runId: string, units: readonly RunUnitRow[]): Promise<void> {
    await Promise.all(
      units.map(async (unit) => {
        try {
          await this.tables.units.createEntity({ partitionKey: runId, rowKey: unitKey(unit.mailboxId, unit.itemKey), json: JSON.stringify(unit) });
        } catch (e) {
          if (!isStatus(e, 409)) throw e;
        }
      }),
    );
  }

  /**
   * Sets a unit's outcome in this run unless its current outcome may not give
   * way to it (unitOutcomeMayChange); conditional on the row's ETag, so a
   * concurrent writer is never overwritten blindly. `known` saves the read.
   */
  async setUnitOutcome(runId: string, unit: RunUnitRow, known?: StoredUnit): Promise<void> {
    const rowKey = unitKey(unit.mailboxId, unit.itemKey);
    const entity = { partitionKey: runId, rowKey, json: JSON.stringify(unit) };
    let current = known ?? (await this.getUnit(runId, rowKey));
    for (let round = 0; round < 5; round++) {
      try {
        if (!current) {
          await this.tables.units.createEntity(entity);
          return;
        }
        if (!unitOutcomeMayChange(current.row.outcome, unit.outcome)) return;
        await this.tables.units.updateEntity(entity, 'Replace', { etag: current.etag });
        return;
      } catch (e) {
        if (!isStatus(e, 409) && !isStatus(e, 412) && !isStatus(e, 404)) throw e;
        current = await this.getUnit(runId, rowKey);
      }
    }
    throw new RangeError(`unit row ${runId}/${rowKey} kept changing while its outcome was set`);
  }

  private async getUnit(runId: string, rowKey: string): Promise<StoredUnit | undefined> {
    try {
      const e = await this.tables.units.getEntity<{ json: string }>(runId, rowKey);
      return { row: JSON.parse(e.json) as RunUnitRow, etag: e.etag };
    } catch (e) {
      if (isStatus(e, 404)) return undefined;
      throw e;
    }
  }

  /** Every unit row of the run. */
  async listUnits(runId: string): Promise<RunUnitRow[]> {
    return listJson<RunUnitRow>(this.tables.units, runId);
  }

  /** The unit rows of one mailbox in the run: a row-key range, so an import step never reads the whole run. */
  async listUnitsOfMailbox(runId: string, mailboxId: string): Promise<RunUnitRow[]> {
    return (await this.listStoredUnits(runId, mailboxId)).map((u) => u.row);
  }

  /**
   * The stored unit rows of one mailbox in the run, with their ETags; with
   * `fromItemKey`/`toItemKey` (inclusive) only that stretch of item keys.
   */
  async listStoredUnits(runId: string, mailboxId: string, range?: { fromItemKey: string; toItemKey: string }): Promise<StoredUnit[]> {
    // Row keys are `<mailbox>|<itemKey>`; '}' sorts right after '|', so the whole range holds exactly that mailbox.
    const lower = range ? `RowKey ge '${escape(unitKey(mailboxId, range.fromItemKey))}'` : `RowKey ge '${escape(`${safeKey(mailboxId)}|`)}'`;
    const upper = range ? `RowKey le '${escape(unitKey(mailboxId, range.toItemKey))}'` : `RowKey lt '${escape(`${safeKey(mailboxId)}}`)}'`;
    const rows: StoredUnit[] = [];
    for await (const e of this.tables.units.listEntities<{ json: string }>({
      queryOptions: { filter: `PartitionKey eq '${escape(runId)}' and ${lower} and ${upper}` },
    })) {
      rows.push({ row: JSON.parse(e.json) as RunUnitRow, etag: e.etag });
    }
    return rows;
  }

  /** Marks a mailbox of the run as planned for import, its import chain at position 0; false when it already was (a retried plan). */
  async markMailboxPlanned(runId: string, mailboxId: string): Promise<boolean> {
    try {
      await this.tables.runs.createEntity({ partitionKey: `plan|${runId}`, rowKey: safeKey(mailboxId), position: 0 });
      return true;
    } catch (e) {
      if (isStatus(e, 409)) return false;
      throw e;
    }
  }

  /**
   * Where a mailbox's import chain stands: the position of the one message
   * that may carry it on, and the step that moved it there with the message
   * it promised (undefined before the first step).
   */
  async chain<T>(runId: string, mailboxId: string): Promise<{ position: number; from?: number; next?: T } | undefined> {
    try {
      const e = await this.tables.runs.getEntity<{ position?: number; from?: number; next?: string }>(`plan|${runId}`, safeKey(mailboxId));
      return { position: e.position ?? 0, from: e.from, next: e.next ? (JSON.parse(e.next) as T) : undefined };
    } catch (e) {
      if (isStatus(e, 404)) return undefined;
      throw e;
    }
  }

  /**
   * Moves a mailbox's import chain from `from` to `to`, conditionally, keeping
   * the message that carries it on (`next`): false when it is not at `from`
   * (another worker, holding a redelivered copy of the same message, carried
   * it on first), so one chain never becomes two. Should the worker die
   * before it sends `next`, the redelivered step finds the chain moved from
   * its own position and sends `next` again.
   */
  async advanceChain(runId: string, mailboxId: string, from: number, to: number, next: unknown): Promise<boolean> {
    for (let round = 0; round < 5; round++) {
      let current: { position?: number; etag: string };
      try {
        current = await this.tables.runs.getEntity<{ position?: number }>(`plan|${runId}`, safeKey(mailboxId));
      } catch (e) {
        if (isStatus(e, 404)) return false;
        throw e;
      }
      if ((current.position ?? 0) !== from) return false;
      try {
        await this.tables.runs.updateEntity({ partitionKey: `plan|${runId}`, rowKey: safeKey(mailboxId), position: to, from, next: JSON.stringify(next) }, 'Merge', { etag: current.etag });
        return true;
      } catch (e) {
        if (!isStatus(e, 412)) throw e;
      }
    }
    return false;
  }
}

function unitKey(mailboxId: string, itemKey: string): string {
  return `${safeKey(mailboxId)}|${itemKey}`;
}

/** Table keys may not hold / \ # ? or control characters. */
function safeKey(value: string): string {
  return value.replace(/[/\\#?\u0000-\u001f\u007f]/g, '_');
}

function escape(value: string): string {
  return value.replace(/'/g, "''");
}

async function listJson<T>(table: TableClient, partition: string, andFilter = ''): Promise<T[]> {
  const rows: T[] = [];
  for await (const e of table.listEntities<{ json: string }>({ queryOptions: { filter: `PartitionKey eq '${escape(partition)}'${andFilter}` } })) {
    rows.push(JSON.parse(e.json) as T);
  }
  return rows;
}

function isStatus(e: unknown, status: number): boolean {
  return e instanceof RestError && e.statusCode === status;
}

async function createTable(table: TableClient): Promise<void> {
  try {
    await table.createTable();
  } catch (e) {
    if (!isStatus(e, 409)) throw e;
  }
}
