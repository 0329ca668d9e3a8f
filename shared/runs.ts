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

  /** Sets a unit's outcome in this run. */
  async setUnitOutcome(runId: string, unit: RunUnitRow): Promise<void> {
    await this.tables.units.upsertEntity(
      { partitionKey: runId, rowKey: unitKey(unit.mailboxId, unit.itemKey), json: JSON.stringify(unit) },
      'Replace',
    );
  }

  /** Every unit row of the run. */
  async listUnits(runId: string): Promise<RunUnitRow[]> {
    return listJson<RunUnitRow>(this.tables.units, runId);
  }

  /** The unit rows of one mailbox in the run: a row-key range, so an import step never reads the whole run. */
  async listUnitsOfMailbox(runId: string, mailboxId: string): Promise<RunUnitRow[]> {
    // Row keys are `<mailbox>|<itemKey>`; '}' sorts right after '|', so this range holds exactly that mailbox.
    const prefix = `${safeKey(mailboxId)}|`;
    const upper = `${safeKey(mailboxId)}}`;
    return listJson<RunUnitRow>(this.tables.units, runId, ` and RowKey ge '${escape(prefix)}' and RowKey lt '${escape(upper)}'`);
  }

  /** Marks a mailbox of the run as planned for import; false when it already was (a retried plan). */
  async markMailboxPlanned(runId: string, mailboxId: string): Promise<boolean> {
    try {
      await this.tables.runs.createEntity({ partitionKey: `plan|${runId}`, rowKey: safeKey(mailboxId) });
      return true;
    } catch (e) {
      if (isStatus(e, 409)) return false;
      throw e;
    }
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
