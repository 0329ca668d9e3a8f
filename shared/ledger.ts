/**
 * The exactly-once ledger of import units across all runs (Table storage,
 * O2Ledger): PartitionKey = mailbox object id, RowKey = itemKey.
 *
 * A worker claims a unit before it touches the mailbox. The claim is a
 * conditional write — createEntity for a new unit (fails with 409 when the
 * row exists), updateEntity with If-Match on the ETag to take over an expired
 * claim (fails with 412 when someone else changed the row first) — so two
 * workers can never both hold one unit. A unit whose row says imported or
 * partial is a duplicate and is never sent again.
 */
import type { TableClient } from '@azure/data-tables';
import { ArchiverError } from './errors';

export type LedgerState = 'claimed' | 'imported' | 'partial';

/** One ledger row as stored. */
export interface LedgerEntry {
  mailboxId: string;
  itemKey: string;
  state: LedgerState;
  /** The run that last claimed or finished the unit. */
  runId: string;
  graphMessageId?: string;
  claimedBy: string;
  claimedAt: string;
  /** Until when the claim holds; after it another worker may take the unit over. */
  leaseExpiresAt: string;
  updatedAt: string;
  etag: string;
}

export interface ClaimOptions {
  runId: string;
  /** Who claims: unique per worker attempt (run, activity invocation…). */
  owner: string;
  leaseInMs: number;
}

/** What a claim found. */
export type ClaimResult =
  | {
      outcome: 'claimed';
      etag: string;
      /** The earlier claim this one took over (its attempt crashed or timed out): the unit's state is unknown. */
      takenOver: { runId: string; claimedBy: string; graphMessageId?: string } | null;
    }
  | { outcome: 'already-imported'; state: 'imported' | 'partial'; runId: string; graphMessageId?: string }
  | { outcome: 'held-by-other'; claimedBy: string; runId: string; leaseExpiresAt: string };

export interface CompleteOptions {
  runId: string;
  owner: string;
  state: 'imported' | 'partial';
  graphMessageId?: string;
  /** The ETag the claim returned; the write is conditional on it when given. */
  etag?: string;
}

/** The ledger of import units. */
export interface Ledger {
  /** Claims a unit for `owner` unless it is imported already or another worker holds a live claim. */
  claim(mailboxId: string, itemKey: string, options: ClaimOptions): Promise<ClaimResult>;
  /** Records a unit as imported (or partially imported): from now on it is a duplicate. */
  complete(mailboxId: string, itemKey: string, options: CompleteOptions): Promise<void>;
  /** Gives a claim up (the unit failed) so that a later run may try again; a no-op if the claim is not `owner`'s. */
  release(mailboxId: string, itemKey: string, owner: string): Promise<void>;
  /** Reads one row (tests, reports). */
  get(mailboxId: string, itemKey: string): Promise<LedgerEntry | undefined>;
}

/** A ledger entry as a table row: keyed by mailbox (partition) and item (row); the ETag lives beside it. */
type Row = Omit<LedgerEntry, 'mailboxId' | 'itemKey' | 'etag'> & { partitionKey: string; rowKey: string };

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode;
}

/** Table keys may not hold `/ \ # ?` or control characters; object ids and item keys never do, but a bug should fail loudly. */
function checkKey(name: string, value: string): void {
  if (!value || /[/\\#?\u0000-\u001f\u007f-\u009f]/.test(value)) throw new TypeError(`ledger ${name} is not a valid table key: ${JSON.stringify(value)}`);
}

export interface LedgerOptions {
  now?: () => number;
}

/** Builds the ledger over a TableClient (the O2Ledger table; created on first use). */
export function createLedger(table: TableClient, options: LedgerOptions = {}): Ledger {
  const now = options.now ?? Date.now;
  let tableReady: Promise<void> | undefined;

  function ready(): Promise<void> {
    if (!tableReady) {
      tableReady = table.createTable().catch((error) => {
        tableReady = undefined;
        throw error;
      });
    }
    return tableReady;
  }

  async function read(mailboxId: string, itemKey: string): Promise<LedgerEntry | undefined> {
    try {
      const e = await table.getEntity<Row>(mailboxId, itemKey);
      return {
        mailboxId,
        itemKey,
        state: e.state,
        runId: e.runId,
        graphMessageId: e.graphMessageId || undefined,
        claimedBy: e.claimedBy,
        claimedAt: e.claimedAt,
        leaseExpiresAt: e.leaseExpiresAt,
        updatedAt: e.updatedAt,
        etag: e.etag,
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  return {
    get: read,

    async claim(mailboxId, itemKey, { runId, owner, leaseInMs }) {
      checkKey('mailbox id', mailboxId);
      checkKey('item key', itemKey);
      await ready();
      // Two rounds: a row deleted by release() between our create and our read is simply created again.
      for (let round = 0; round < 3; round++) {
        const t = now();
        const fresh: Row = {
          partitionKey: mailboxId,
          rowKey: itemKey,
          state: 'claimed',
          runId,
          claimedBy: owner,
          claimedAt: new Date(t).toISOString(),
          leaseExpiresAt: new Date(t + leaseInMs).toISOString(),
          updatedAt: new Date(t).toISOString(),
        };
        try {
          const created = await table.createEntity(fresh);
          return { outcome: 'claimed', etag: created.etag ?? '', takenOver: null };
        } catch (error) {
          if (statusOf(error) !== 409) throw error;
        }
        const existing = await read(mailboxId, itemKey);
        if (!existing) continue;
        if (existing.state === 'imported' || existing.state === 'partial') {
          return { outcome: 'already-imported', state: existing.state, runId: existing.runId, graphMessageId: existing.graphMessageId };
        }
        const expired = Date.parse(existing.leaseExpiresAt) <= t;
        // Our own earlier claim (a retried activity) is as unknown as a crashed one: take it over too.
        if (!expired && existing.claimedBy !== owner) {
          return { outcome: 'held-by-other', claimedBy: existing.claimedBy, runId: existing.runId, leaseExpiresAt: existing.leaseExpiresAt };
        }
        try {
          const updated = await table.updateEntity({ ...fresh, graphMessageId: existing.graphMessageId ?? '' }, 'Replace', { etag: existing.etag });
          return {
            outcome: 'claimed',
            etag: updated.etag ?? '',
            takenOver: { runId: existing.runId, claimedBy: existing.claimedBy, graphMessageId: existing.graphMessageId },
          };
        } catch (error) {
          // Someone else changed the row since we read it: look again.
          if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
        }
      }
      const last = await read(mailboxId, itemKey);
      if (last && last.state !== 'claimed') {
        return { outcome: 'already-imported', state: last.state, runId: last.runId, graphMessageId: last.graphMessageId };
      }
      return { outcome: 'held-by-other', claimedBy: last?.claimedBy ?? 'unknown', runId: last?.runId ?? '', leaseExpiresAt: last?.leaseExpiresAt ?? '' };
    },

    async complete(mailboxId, itemKey, { runId, owner, state, graphMessageId, etag }) {
      await ready();
      const t = new Date(now()).toISOString();
      let tag = etag;
      for (let round = 0; round < 3; round++) {
        const existing = await read(mailboxId, itemKey);
        if (existing && existing.state !== 'claimed') return; // finished already: the first record stands
        const row: Row = {
          partitionKey: mailboxId,
          rowKey: itemKey,
          state,
          runId,
          graphMessageId: graphMessageId ?? '',
          claimedBy: existing?.claimedBy ?? owner,
          claimedAt: existing?.claimedAt ?? t,
          leaseExpiresAt: existing?.leaseExpiresAt ?? t,
          updatedAt: t,
        };
        try {
          if (!existing) await table.createEntity(row);
          // The message is in the mailbox whoever holds the claim now, so the record is written
          // even if our lease was taken over; the ETag only guards against losing a concurrent finish.
          else await table.updateEntity(row, 'Replace', { etag: tag && tag === existing.etag ? tag : existing.etag });
          return;
        } catch (error) {
          if (![409, 412, 404].includes(statusOf(error) ?? 0)) throw error;
          tag = undefined;
        }
      }
      throw new ArchiverError('CONFLICT', `ledger row ${mailboxId}/${itemKey} kept changing while it was completed`, { retryable: true });
    },

    async release(mailboxId, itemKey, owner) {
      await ready();
      const existing = await read(mailboxId, itemKey);
      if (!existing || existing.state !== 'claimed' || existing.claimedBy !== owner) return;
      try {
        await table.deleteEntity(mailboxId, itemKey, { etag: existing.etag });
      } catch (error) {
        if (statusOf(error) !== 412 && statusOf(error) !== 404) throw error;
      }
    },
  };
}
