/**
 * Run records and what each run did to each item and unit, in Table storage.
 * Every write is keyed and idempotent, so a retried activity never counts an
 * item twice; the report is computed from these rows. Rows of a batch are
 * written by transactions (one request per hundred rows), each field a
 * property of its own, so that an outcome is set by a Merge without reading
 * the row first.
 */
import { createHash } from 'node:crypto';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { ItemType, TimeWindow } from '../model/item';
import type { ArchivedEmail } from '../model/stages';
import type { FailureReason } from '../model/reasons';
import { isStatus, listAll, odataQuote, safeKey, submitAll } from '../platform/tables';

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
  reason?: FailureReason;
  detail?: string;
  unmappedNumbers?: string[];
  /** The stage message that claimed the item for this run (redeliveries of it may go on). */
  claimedBy?: string;
  /** The staged batch (blob) the item went to conversion in. */
  staged?: string;
  /** The converted batch (blob) holding its email, once converted. */
  converted?: string;
}

export interface RunUnitRow {
  mailboxId: string;
  mailbox: string;
  itemKey: string;
  itemId: string;
  type: ItemType;
  outcome: UnitOutcome;
  reason?: FailureReason;
  detail?: string;
}

/** A unit row as stored, with the ETag its next conditional write needs. */
export interface StoredUnit {
  row: RunUnitRow;
  etag: string;
}

/** A unit to import: its row, and its email (in the row, or in the converted batch it names). */
export interface ImportableUnit extends StoredUnit {
  email?: ArchivedEmail;
  /** The converted batch holding the email when it was too long for the row. */
  emailIn?: string;
}

/** A unit as map adds it: the row, and the email the import will need. */
export interface NewUnit {
  row: RunUnitRow;
  email: ArchivedEmail;
  /** The converted batch the email is in (the row holds it too when it is short enough). */
  convertedBatch: string;
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

/** Where a mailbox's import chain stands (its plan row). */
export interface ChainState<T> {
  /** The step of the one message that may carry the chain on. */
  step: number;
  /** The step that moved the chain here, and the message it promised. */
  from?: number;
  next?: T;
}

const RUN_PARTITION = 'run';

/**
 * A run's item and unit rows are spread over this many partitions, `<run
 * id>|<shard>`: an item by its key, a unit by its mailbox (so one mailbox's
 * units stay in one partition, read by one row-key range). Each partition has
 * its own throughput target in Azure Storage (2,000 entities a second), and
 * a point write costs Azurite the size of its partition, not of the run.
 */
export const RUN_ROW_SHARDS = 16;

function shardOf(key: string): string {
  return (createHash('sha256').update(key).digest().readUInt8(0) % RUN_ROW_SHARDS).toString(16).padStart(2, '0');
}

/** The partition of an item's row in a run. */
export function itemPartition(runId: string, itemKey: string): string {
  return `${runId}|${shardOf(itemKey)}`;
}

/** The partition of a mailbox's unit rows in a run. */
export function unitPartition(runId: string, mailboxId: string): string {
  return `${runId}|${shardOf(mailboxId)}`;
}

/** A filter for every shard of a run's rows: '}' sorts right after '|'. */
function runPartitions(runId: string): string {
  return `PartitionKey ge ${odataQuote(`${runId}|`)} and PartitionKey lt ${odataQuote(`${runId}}`)}`;
}

/** Submits actions of many partitions: one group per partition (a transaction holds one partition only). */
async function submitByPartition(
  table: TableClient,
  actions: readonly TransactionAction[],
  fallback: (action: TransactionAction) => Promise<void>,
): Promise<void> {
  const groups = new Map<string, TransactionAction[]>();
  for (const action of actions) {
    const pk = action[1].partitionKey as string;
    const group = groups.get(pk);
    if (group) group.push(action);
    else groups.set(pk, [action]);
  }
  await Promise.all([...groups.values()].map((group) => submitAll(table, group, fallback)));
}
/** An email whose JSON is longer than this stays in its converted batch; the row names the batch (a table property holds 64 KiB). */
const MAX_EMAIL_IN_ROW = 30_000;

/** Item row fields as table properties (strings; arrays as JSON). */
type ItemEntity = {
  itemId: string;
  type: string;
  outcome?: string;
  reason?: string;
  detail?: string;
  unmappedNumbers?: string;
  claimedBy?: string;
  staged?: string;
  converted?: string;
};

type UnitEntity = {
  mailboxId: string;
  mailbox: string;
  itemKey: string;
  itemId: string;
  type: string;
  outcome: string;
  reason?: string;
  detail?: string;
  email?: string;
  emailIn?: string;
};

/** Only what is set, so that a Merge leaves the rest of the row as it is. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function itemEntity(row: Partial<RunItemRow>): Partial<ItemEntity> {
  return defined({
    itemId: row.itemId === undefined ? undefined : (row.itemId ?? ''),
    type: row.type,
    outcome: row.outcome,
    reason: row.reason,
    detail: row.detail,
    unmappedNumbers: row.unmappedNumbers ? JSON.stringify(row.unmappedNumbers) : undefined,
    claimedBy: row.claimedBy,
    staged: row.staged,
    converted: row.converted,
  });
}

function itemRowOf(itemKey: string, e: ItemEntity): RunItemRow {
  return defined({
    itemKey,
    itemId: e.itemId ? e.itemId : null,
    type: e.type as RunItemRow['type'],
    outcome: e.outcome as ItemOutcome | undefined,
    reason: e.reason as FailureReason | undefined,
    detail: e.detail,
    unmappedNumbers: e.unmappedNumbers ? (JSON.parse(e.unmappedNumbers) as string[]) : undefined,
    claimedBy: e.claimedBy,
    staged: e.staged,
    converted: e.converted,
  }) as RunItemRow;
}

function unitRowOf(e: UnitEntity): RunUnitRow {
  return defined({
    mailboxId: e.mailboxId, mailbox: e.mailbox, itemKey: e.itemKey, itemId: e.itemId, type: e.type as RunUnitRow['type'],
    // An outcome Merge writes '' over an earlier reason: '' is no reason.
    outcome: e.outcome as UnitOutcome, reason: (e.reason || undefined) as FailureReason | undefined, detail: e.detail || undefined,
  }) as RunUnitRow;
}

/** The fields of a unit row that an outcome sets. */
function outcomeFields(unit: RunUnitRow): Pick<UnitEntity, 'outcome' | 'reason' | 'detail'> {
  return { outcome: unit.outcome, reason: unit.reason ?? '', detail: unit.detail ?? '' };
}

function unitKey(mailboxId: string, itemKey: string): string {
  return `${safeKey(mailboxId)}|${itemKey}`;
}

/** Run records, per-run item and unit outcomes, run errors and import chains. */
export class RunStore {
  constructor(private readonly tables: RunTables) {}

  /** The runs table, for rows kept beside the run records (the schedule's watermark). */
  get recordsTable(): TableClient {
    return this.tables.runs;
  }

  /** Creates the tables when missing. */
  async ensure(): Promise<void> {
    await Promise.all(
      Object.values(this.tables).map(async (t) => {
        try {
          await t.createTable();
        } catch (e) {
          if (!isStatus(e, 409)) throw e;
        }
      }),
    );
  }

  // ---- run records ------------------------------------------------------------

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
    const rows = await listAll<{ json: string }>(this.tables.runs, `PartitionKey eq '${RUN_PARTITION}'`);
    return rows.map((e) => JSON.parse(e.json) as RunRecord).sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, limit);
  }

  /** Records a run-level error (a slice that could not be read, a refused login), once per key. */
  async addRunError(runId: string, key: string, message: string): Promise<void> {
    await this.tables.runs.upsertEntity({ partitionKey: `errors|${runId}`, rowKey: safeKey(key), message }, 'Replace');
  }

  /** The run-level errors of a run. */
  async listRunErrors(runId: string): Promise<string[]> {
    return (await listAll<{ message: string }>(this.tables.runs, `PartitionKey eq ${odataQuote(`errors|${runId}`)}`)).map((e) => e.message);
  }

  // ---- items ----------------------------------------------------------------------

  /**
   * Claims items for this run on behalf of one stage message, with the
   * fields they start with: 'new' the first time, 'same' when that message
   * comes back (a redelivery), and 'duplicate' when another record with the
   * same id got there first. One transaction per hundred new items.
   */
  async claimItems(runId: string, rows: readonly RunItemRow[], messageId: string): Promise<Map<string, 'new' | 'same' | 'duplicate'>> {
    const claims = new Map<string, 'new' | 'same' | 'duplicate'>();
    const actions: TransactionAction[] = rows.map((row) => ['create', { partitionKey: itemPartition(runId, row.itemKey), rowKey: row.itemKey, ...itemEntity({ ...row, claimedBy: messageId }) }]);
    for (const row of rows) claims.set(row.itemKey, 'new');
    await submitByPartition(this.tables.items, actions, async ([, entity]) => {
      try {
        await this.tables.items.createEntity(entity as never);
      } catch (e) {
        if (!isStatus(e, 409)) throw e;
        const existing = await this.getItem(runId, entity.rowKey as string);
        claims.set(entity.rowKey as string, existing?.claimedBy === messageId ? 'same' : 'duplicate');
      }
    });
    return claims;
  }

  /** The item's row in this run. */
  async getItem(runId: string, itemKey: string): Promise<RunItemRow | undefined> {
    try {
      return itemRowOf(itemKey, await this.tables.items.getEntity<ItemEntity>(itemPartition(runId, itemKey), itemKey));
    } catch (e) {
      if (isStatus(e, 404)) return undefined;
      throw e;
    }
  }

  /** Sets the fields given of items of this run (outcomes, batches), by Merge: one transaction per hundred. */
  async setItemFields(runId: string, rows: readonly (Partial<RunItemRow> & { itemKey: string })[]): Promise<void> {
    const actions: TransactionAction[] = rows.map((row) => ['upsert', { partitionKey: itemPartition(runId, row.itemKey), rowKey: row.itemKey, ...itemEntity(row) }, 'Merge']);
    await submitByPartition(this.tables.items, actions, async ([, entity]) => {
      await this.tables.items.upsertEntity(entity as never, 'Merge');
    });
  }

  /** Sets one item's outcome in this run (idempotent). */
  async setItemOutcome(runId: string, row: RunItemRow): Promise<void> {
    await this.setItemFields(runId, [row]);
  }

  /**
   * Sets the item's outcome only while it has none: how a poisoned message
   * records its failure without overwriting what a stage already decided
   * (conditional on the row's ETag). False when the item had an outcome.
   */
  async setItemOutcomeIfNone(runId: string, row: RunItemRow): Promise<boolean> {
    for (let round = 0; round < 5; round++) {
      let existing: (ItemEntity & { etag: string }) | undefined;
      try {
        existing = await this.tables.items.getEntity<ItemEntity>(itemPartition(runId, row.itemKey), row.itemKey);
      } catch (e) {
        if (!isStatus(e, 404)) throw e;
      }
      if (existing?.outcome) return false;
      const entity = { partitionKey: itemPartition(runId, row.itemKey), rowKey: row.itemKey, ...itemEntity(row) };
      try {
        if (existing) await this.tables.items.updateEntity(entity, 'Merge', { etag: existing.etag });
        else await this.tables.items.createEntity(entity);
        return true;
      } catch (e) {
        if (!isStatus(e, 409, 412, 404)) throw e;
      }
    }
    throw new RangeError(`item row ${runId}/${row.itemKey} kept changing while its failure was recorded`);
  }

  /** Every item row of the run. */
  async listItems(runId: string): Promise<RunItemRow[]> {
    return (await listAll<ItemEntity>(this.tables.items, runPartitions(runId))).map((e) => itemRowOf(e.rowKey as string, e));
  }

  // ---- units ----------------------------------------------------------------------

  /** Adds the run's import units as pending, each with its email, leaving any already there untouched. */
  async addUnits(runId: string, units: readonly NewUnit[]): Promise<void> {
    const actions: TransactionAction[] = units.map(({ row, email, convertedBatch }) => {
      const json = JSON.stringify(email);
      const entity: UnitEntity = {
        mailboxId: row.mailboxId, mailbox: row.mailbox, itemKey: row.itemKey, itemId: row.itemId, type: row.type, outcome: 'pending',
        ...(json.length <= MAX_EMAIL_IN_ROW ? { email: json } : { emailIn: convertedBatch }),
      };
      return ['create', { partitionKey: unitPartition(runId, row.mailboxId), rowKey: unitKey(row.mailboxId, row.itemKey), ...entity }];
    });
    await submitByPartition(this.tables.units, actions, async ([, entity]) => {
      try {
        await this.tables.units.createEntity(entity as never);
      } catch (e) {
        if (!isStatus(e, 409)) throw e;
      }
    });
  }

  /**
   * Sets units' outcomes in this run unless a current outcome may not give
   * way (unitOutcomeMayChange): one transaction per hundred, each row
   * conditional on the ETag it was read with, so a concurrent writer is never
   * overwritten blindly; a row that moved is decided again on its own.
   */
  async setUnitOutcomes(runId: string, updates: readonly { unit: RunUnitRow; known?: StoredUnit }[]): Promise<void> {
    const byKey = new Map(updates.map((u) => [unitKey(u.unit.mailboxId, u.unit.itemKey), u]));
    const actions: TransactionAction[] = [];
    for (const [rowKey, { unit, known }] of byKey) {
      if (known && !unitOutcomeMayChange(known.row.outcome, unit.outcome)) continue;
      const entity = { partitionKey: unitPartition(runId, unit.mailboxId), rowKey, ...outcomeFields(unit) };
      actions.push(known ? ['update', entity, 'Merge', { etag: known.etag }] : ['upsert', { ...entity, ...unitIdentity(unit) }, 'Merge']);
    }
    await submitByPartition(this.tables.units, actions, async ([, entity]) => {
      const { unit, known } = byKey.get(entity.rowKey as string)!;
      await this.setUnitOutcome(runId, unit, known);
    });
  }

  /**
   * Sets a unit's outcome in this run unless its current outcome may not give
   * way to it; conditional on the row's ETag. `known` saves the read.
   */
  async setUnitOutcome(runId: string, unit: RunUnitRow, known?: StoredUnit): Promise<void> {
    const rowKey = unitKey(unit.mailboxId, unit.itemKey);
    const partitionKey = unitPartition(runId, unit.mailboxId);
    let current = known ?? (await this.getUnit(partitionKey, rowKey));
    for (let round = 0; round < 5; round++) {
      try {
        if (!current) {
          await this.tables.units.createEntity({ partitionKey, rowKey, ...unitIdentity(unit), ...outcomeFields(unit) });
          return;
        }
        if (!unitOutcomeMayChange(current.row.outcome, unit.outcome)) return;
        await this.tables.units.updateEntity({ partitionKey, rowKey, ...outcomeFields(unit) }, 'Merge', { etag: current.etag });
        return;
      } catch (e) {
        if (!isStatus(e, 409, 412, 404)) throw e;
        current = await this.getUnit(partitionKey, rowKey);
      }
    }
    throw new RangeError(`unit row ${runId}/${rowKey} kept changing while its outcome was set`);
  }

  private async getUnit(partitionKey: string, rowKey: string): Promise<StoredUnit | undefined> {
    try {
      const e = await this.tables.units.getEntity<UnitEntity>(partitionKey, rowKey, { queryOptions: { select: UNIT_FIELDS } });
      return { row: unitRowOf(e), etag: e.etag };
    } catch (e) {
      if (isStatus(e, 404)) return undefined;
      throw e;
    }
  }

  /** Every unit row of the run (without emails). */
  async listUnits(runId: string): Promise<RunUnitRow[]> {
    return (await listAll<UnitEntity>(this.tables.units, runPartitions(runId), UNIT_FIELDS)).map(unitRowOf);
  }

  /** The unit rows of one mailbox in the run: a row-key range, so no step ever reads the whole run. */
  async listUnitsOfMailbox(runId: string, mailboxId: string): Promise<RunUnitRow[]> {
    return (await this.listStoredUnits(runId, mailboxId)).map((u) => u.row);
  }

  /**
   * The stored unit rows of one mailbox in the run, in item-key order, with
   * their ETags: after `after` (an item key), only pending ones with
   * `pendingOnly`, at most `limit`; with `withEmail`, each with its email.
   */
  async listStoredUnits(
    runId: string,
    mailboxId: string,
    options: { after?: string; pendingOnly?: boolean; limit?: number; withEmail?: boolean } = {},
  ): Promise<ImportableUnit[]> {
    const lower = options.after !== undefined ? `RowKey gt ${odataQuote(unitKey(mailboxId, options.after))}` : `RowKey ge ${odataQuote(`${safeKey(mailboxId)}|`)}`;
    // '}' sorts right after '|': the range holds exactly that mailbox's rows.
    const upper = `RowKey lt ${odataQuote(`${safeKey(mailboxId)}}`)}`;
    const filter = `PartitionKey eq ${odataQuote(unitPartition(runId, mailboxId))} and ${lower} and ${upper}${options.pendingOnly ? " and outcome eq 'pending'" : ''}`;
    const select = options.withEmail ? [...UNIT_FIELDS, 'email', 'emailIn'] : UNIT_FIELDS;
    const units: ImportableUnit[] = [];
    const pages = this.tables.units.listEntities<UnitEntity>({ queryOptions: { filter, select } }).byPage({ maxPageSize: Math.min(1000, options.limit ?? 1000) });
    for await (const page of pages) {
      for (const e of page) {
        if (options.limit !== undefined && units.length >= options.limit) return units;
        units.push({ row: unitRowOf(e), etag: e.etag, ...(e.email ? { email: JSON.parse(e.email) as ArchivedEmail } : {}), ...(e.emailIn ? { emailIn: e.emailIn } : {}) });
      }
      if (options.limit !== undefined && units.length >= options.limit) return units;
    }
    return units;
  }

  // ---- import planning and chains -------------------------------------------------

  /** Notes mailboxes that have units in the run (idempotent): the import plans one chain per mailbox noted. */
  async noteMailboxes(runId: string, mailboxes: readonly { objectId: string; userPrincipalName: string }[]): Promise<void> {
    const unique = new Map(mailboxes.map((m) => [m.objectId, m]));
    const actions: TransactionAction[] = [...unique.values()].map((m) => [
      'upsert',
      { partitionKey: `plan|${runId}`, rowKey: safeKey(m.objectId), mailboxId: m.objectId, mailbox: m.userPrincipalName },
      'Merge',
    ]);
    await submitAll(this.tables.runs, actions, async ([, entity]) => {
      await this.tables.runs.upsertEntity(entity as never, 'Merge');
    });
  }

  /** The mailboxes noted for the run, with whether their chain has started and moved. */
  async listPlannedMailboxes(runId: string): Promise<{ mailboxId: string; mailbox: string; started: boolean; moved: boolean }[]> {
    const rows = await listAll<{ mailboxId?: string; mailbox?: string; step?: number; from?: number }>(this.tables.runs, `PartitionKey eq ${odataQuote(`plan|${runId}`)}`);
    return rows.map((e) => ({ mailboxId: e.mailboxId ?? (e.rowKey as string), mailbox: e.mailbox ?? '', started: e.step !== undefined, moved: e.from !== undefined }));
  }

  /** Marks a mailbox's chain as started at step 0; false when it had started already (a retried plan). */
  async startChain(runId: string, mailboxId: string): Promise<boolean> {
    for (let round = 0; round < 5; round++) {
      let current: { step?: number; etag: string } | undefined;
      try {
        current = await this.tables.runs.getEntity<{ step?: number }>(`plan|${runId}`, safeKey(mailboxId));
      } catch (e) {
        if (!isStatus(e, 404)) throw e;
      }
      if (current?.step !== undefined) return false;
      try {
        const entity = { partitionKey: `plan|${runId}`, rowKey: safeKey(mailboxId), mailboxId, step: 0 };
        if (current) await this.tables.runs.updateEntity(entity, 'Merge', { etag: current.etag });
        else await this.tables.runs.createEntity(entity);
        return true;
      } catch (e) {
        if (!isStatus(e, 409, 412)) throw e;
      }
    }
    return false;
  }

  /** Where a mailbox's import chain stands (undefined before it started). */
  async chain<T>(runId: string, mailboxId: string): Promise<ChainState<T> | undefined> {
    try {
      const e = await this.tables.runs.getEntity<{ step?: number; from?: number; next?: string }>(`plan|${runId}`, safeKey(mailboxId));
      if (e.step === undefined) return undefined;
      return { step: e.step, from: e.from, next: e.next ? (JSON.parse(e.next) as T) : undefined };
    } catch (e) {
      if (isStatus(e, 404)) return undefined;
      throw e;
    }
  }

  /**
   * Moves a mailbox's import chain from step `from` to `to`, conditionally,
   * keeping the message that carries it on (`next`): false when it is not at
   * `from` (another worker, holding a redelivered copy of the same message,
   * carried it on first), so one chain never becomes two. Should the worker
   * die before it sends `next`, the redelivered step finds the chain moved
   * from its own step and sends `next` again.
   */
  async advanceChain(runId: string, mailboxId: string, from: number, to: number, next: unknown): Promise<boolean> {
    for (let round = 0; round < 5; round++) {
      let current: { step?: number; etag: string };
      try {
        current = await this.tables.runs.getEntity<{ step?: number }>(`plan|${runId}`, safeKey(mailboxId));
      } catch (e) {
        if (isStatus(e, 404)) return false;
        throw e;
      }
      if ((current.step ?? 0) !== from) return false;
      try {
        await this.tables.runs.updateEntity({ partitionKey: `plan|${runId}`, rowKey: safeKey(mailboxId), step: to, from, next: JSON.stringify(next) }, 'Merge', { etag: current.etag });
        return true;
      } catch (e) {
        if (!isStatus(e, 412)) throw e;
      }
    }
    return false;
  }
}

/** The unit row's own fields (never the email). */
const UNIT_FIELDS = ['mailboxId', 'mailbox', 'itemKey', 'itemId', 'type', 'outcome', 'reason', 'detail'];

function unitIdentity(unit: RunUnitRow): Omit<UnitEntity, 'outcome' | 'reason' | 'detail'> {
  return { mailboxId: unit.mailboxId, mailbox: unit.mailbox, itemKey: unit.itemKey, itemId: unit.itemId, type: unit.type };
}
