/**
 * Orchestration instances and their history in Azure Table storage, so that
 * a run survives the death of the process that drove it: another process
 * takes the instance over once the lease of the dead one has lapsed (as the
 * Durable Task Framework does after a host crash).
 */
import { RestError, type TableClient } from '@azure/data-tables';
import { ArchiverError } from '../../shared/model/errors';

export type InstanceStatus = 'running' | 'completed' | 'failed';

export interface InstanceRecord {
  instanceId: string;
  name: string;
  status: InstanceStatus;
  input: unknown;
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  /** Incremented by continue-as-new and by a fresh start of a finished instance. */
  execution: number;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  createdAt: string;
  updatedAt: string;
}

/** A history event as durable-functions reads it, plus the driver's own bookkeeping fields. */
export type HistoryEvent = Record<string, unknown> & { EventType: number };

interface InstanceEntity {
  partitionKey: string;
  rowKey: string;
  name: string;
  status: string;
  inputJson: string;
  outputJson?: string;
  error?: string;
  customStatusJson?: string;
  execution: number;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  createdAt: string;
  updatedAt: string;
}

const INSTANCE_PARTITION = 'instance';

export class InstanceStore {
  constructor(
    private readonly instances: TableClient,
    private readonly history: TableClient,
  ) {}

  /** Creates both tables when missing. */
  async ensure(): Promise<void> {
    await Promise.all([createTable(this.instances), createTable(this.history)]);
  }

  /** The instance and its ETag, or undefined when it was never started. */
  async get(instanceId: string): Promise<{ record: InstanceRecord; etag: string } | undefined> {
    try {
      const entity = await this.instances.getEntity<InstanceEntity>(INSTANCE_PARTITION, instanceId);
      return { record: fromEntity(entity), etag: entity.etag };
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404) return undefined;
      throw e;
    }
  }

  /** Creates a new instance; throws CONFLICT when it already exists (no check-then-start race). */
  async create(record: InstanceRecord): Promise<string> {
    try {
      const result = await this.instances.createEntity(toEntity(record));
      return result.etag!;
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 409) {
        throw new ArchiverError('CONFLICT', `instance ${record.instanceId} already exists`);
      }
      throw e;
    }
  }

  /** Replaces the instance if its ETag still matches; throws CONFLICT when another process changed it. */
  async update(record: InstanceRecord, etag: string): Promise<string> {
    try {
      const result = await this.instances.updateEntity(toEntity(record), 'Replace', { etag });
      return result.etag!;
    } catch (e) {
      if (e instanceof RestError && (e.statusCode === 412 || e.statusCode === 409)) {
        throw new ArchiverError('CONFLICT', `instance ${record.instanceId} was changed by another process`);
      }
      throw e;
    }
  }

  /** Every instance, newest first. */
  async list(): Promise<InstanceRecord[]> {
    const records: InstanceRecord[] = [];
    for await (const entity of this.instances.listEntities<InstanceEntity>({
      queryOptions: { filter: `PartitionKey eq '${INSTANCE_PARTITION}'` },
    })) {
      records.push(fromEntity(entity as InstanceEntity));
    }
    return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** The history of one execution of an instance, in order. */
  async loadHistory(instanceId: string, execution: number): Promise<HistoryEvent[]> {
    const events: { index: string; event: HistoryEvent }[] = [];
    const partition = historyPartition(instanceId, execution);
    for await (const row of this.history.listEntities<{ eventJson: string }>({
      queryOptions: { filter: `PartitionKey eq '${escapeOData(partition)}'` },
    })) {
      events.push({ index: row.rowKey!, event: JSON.parse(row.eventJson) as HistoryEvent });
    }
    return events.sort((a, b) => a.index.localeCompare(b.index)).map((e) => e.event);
  }

  /** Appends events at `startIndex` onwards, in transactions of at most 100. */
  async appendHistory(instanceId: string, execution: number, startIndex: number, events: HistoryEvent[]): Promise<void> {
    const partition = historyPartition(instanceId, execution);
    for (let i = 0; i < events.length; i += 100) {
      const chunk = events.slice(i, i + 100);
      await this.history.submitTransaction(
        chunk.map((event, j) => [
          'upsert',
          { partitionKey: partition, rowKey: String(startIndex + i + j).padStart(10, '0'), eventJson: JSON.stringify(event) },
          'Replace',
        ]),
      );
    }
  }
}

function historyPartition(instanceId: string, execution: number): string {
  return `${instanceId}|${execution}`;
}

function escapeOData(value: string): string {
  return value.replace(/'/g, "''");
}

async function createTable(table: TableClient): Promise<void> {
  try {
    await table.createTable();
  } catch (e) {
    if (!(e instanceof RestError && e.statusCode === 409)) throw e;
  }
}

function toEntity(record: InstanceRecord): InstanceEntity {
  return {
    partitionKey: INSTANCE_PARTITION,
    rowKey: record.instanceId,
    name: record.name,
    status: record.status,
    inputJson: JSON.stringify(record.input ?? null),
    outputJson: record.output === undefined ? undefined : JSON.stringify(record.output),
    error: record.error,
    customStatusJson: record.customStatus === undefined ? undefined : JSON.stringify(record.customStatus),
    execution: record.execution,
    leaseOwner: record.leaseOwner,
    leaseExpiresAt: record.leaseExpiresAt,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

function fromEntity(entity: InstanceEntity): InstanceRecord {
  return {
    instanceId: entity.rowKey,
    name: entity.name,
    status: entity.status as InstanceStatus,
    input: JSON.parse(entity.inputJson),
    output: entity.outputJson === undefined ? undefined : JSON.parse(entity.outputJson),
    error: entity.error,
    customStatus: entity.customStatusJson === undefined ? undefined : JSON.parse(entity.customStatusJson),
    execution: entity.execution,
    leaseOwner: entity.leaseOwner,
    leaseExpiresAt: entity.leaseExpiresAt,
    createdAt: entity.createdAt,
    updatedAt: entity.updatedAt,
  };
}
