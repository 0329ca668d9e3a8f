/**
 * The exactly-once ledger of import units across all runs (Table storage,
 * O2Ledger): PartitionKey = mailbox object id, RowKey = itemKey.
 *
 * A worker claims a unit before it touches the mailbox, and every later write
 * of the row is conditional on the ETag it holds, so two workers can never
 * both hold one unit and a worker that lost its claim learns so at its next
 * write:
 * - claim: createEntity for a new unit (409 when the row exists), or
 *   updateEntity with If-Match to take over a claim whose lease ran out;
 * - renew: moves the lease on while the worker works (If-Match);
 * - complete: records the unit imported or partial with its message id
 *   (If-Match); from then on it is a duplicate and is never sent again;
 * - release: gives the claim up after a failure without forgetting that a
 *   copy may be in the mailbox (`copyMayExist` stays until the unit is final);
 * - handOver: a worker that lost its claim after creating a copy names it in
 *   the row (`orphans`), for the holder to remove before it completes.
 * A row is never deleted: what it knows about the mailbox must outlive every
 * worker.
 */
import type { TableClient } from '@azure/data-tables';
import { ArchiverError } from '../../model/errors';
import { TRANSACTION_LIMIT } from '../../platform/tables';

export type LedgerState = 'claimed' | 'imported' | 'partial';

/** One ledger row as stored. */
export interface LedgerEntry {
  mailboxId: string;
  itemKey: string;
  state: LedgerState;
  /** The run that last claimed the unit, or the run recorded as having imported it. */
  runId: string;
  /** The copy in the archive folder, once final. */
  graphMessageId?: string;
  claimedBy: string;
  claimedAt: string;
  /** Until when the claim holds; after it another worker may take the unit over. */
  leaseExpiresAt: string;
  updatedAt: string;
  /** A copy of the unit may be in the mailbox without the row naming it: the next holder looks first. */
  copyMayExist: boolean;
  /** Copies that workers which lost their claim created and handed over, for the holder to remove. */
  orphans: string[];
  etag: string;
}

export interface ClaimOptions {
  runId: string;
  /** Who claims: unique per worker attempt (run, activity invocation…). */
  owner: string;
  leaseInMs: number;
}

/** What a takeover found of the claim before it. */
export interface TakenOver {
  runId: string;
  claimedBy: string;
  /** When the earlier claim ran out: anything its worker created reached the mailbox before this. */
  leaseExpiresAt: string;
  copyMayExist: boolean;
  orphans: string[];
}

/** What a claim found. */
export type ClaimResult =
  | {
      outcome: 'claimed';
      etag: string;
      leaseExpiresAt: string;
      /** The earlier claim this one took over (its worker crashed, failed or stalled): null for a new unit. */
      takenOver: TakenOver | null;
    }
  | { outcome: 'already-imported'; state: 'imported' | 'partial'; runId: string; graphMessageId?: string }
  | { outcome: 'held-by-other'; claimedBy: string; runId: string; leaseExpiresAt: string };

/** What a write of a held claim found: still ours, with the row's new ETag, or lost (with the row as it is). */
export type HeldWrite =
  | {
      outcome: 'held';
      etag: string;
      /** The row's orphans, when it had changed under the worker (a loser handed a copy over); absent when it had not. */
      orphans?: string[];
    }
  | { outcome: 'lost'; entry?: LedgerEntry };

export type CompleteResult =
  | { outcome: 'completed' }
  /** The row changed but is still ours (a loser handed a copy over): remove the orphans, then complete again. */
  | { outcome: 'changed'; etag: string; orphans: string[] }
  | { outcome: 'lost'; entry?: LedgerEntry };

export interface HeldOptions {
  owner: string;
  /** The ETag of the row as this worker last wrote or read it. */
  etag: string;
}

export interface CompleteOptions extends HeldOptions {
  /** The run recorded as having imported the unit. */
  runId: string;
  state: 'imported' | 'partial';
  graphMessageId: string;
}

export type HandOverResult = { outcome: 'handed-over' } | { outcome: 'final'; entry: LedgerEntry | undefined };

/** A claim and when it was asked for (the lease runs from no later than that). */
export interface TimedClaim {
  result: ClaimResult;
  claimedAt: number;
}

/** The ledger of import units. */
export interface Ledger {
  /** Claims a unit for `owner` unless it is imported already or another worker holds a live claim. */
  claim(mailboxId: string, itemKey: string, options: ClaimOptions): Promise<ClaimResult>;
  /**
   * Claims many units of one mailbox: new ones together (one transaction per
   * hundred), any that has a row already on its own, as `claim` does.
   */
  claimMany(mailboxId: string, itemKeys: readonly string[], options: ClaimOptions): Promise<Map<string, TimedClaim>>;
  /**
   * Records many held units of one mailbox as imported, a transaction per
   * hundred, each row conditional on its ETag; returns the item keys recorded.
   * A transaction refused (a row moved) records none of its units: record
   * those one by one.
   */
  completeMany(mailboxId: string, entries: readonly (CompleteOptions & { itemKey: string })[]): Promise<Set<string>>;
  /** Moves a held claim's lease on by `leaseInMs`; `lost` when another worker holds or finished the unit. */
  renew(mailboxId: string, itemKey: string, options: HeldOptions & { leaseInMs: number }): Promise<HeldWrite>;
  /** Records a held unit as imported (or partially imported): from now on it is a duplicate. */
  complete(mailboxId: string, itemKey: string, options: CompleteOptions): Promise<CompleteResult>;
  /** Gives a held claim up at once, keeping `copyMayExist` set when a copy may be in the mailbox. */
  release(mailboxId: string, itemKey: string, options: HeldOptions & { copyMayExist: boolean }): Promise<void>;
  /** Names a copy a worker created for a unit it no longer holds, for the holder to remove; `final` when nobody will. */
  handOver(mailboxId: string, itemKey: string, graphMessageId: string): Promise<HandOverResult>;
  /** Reads one row. */
  get(mailboxId: string, itemKey: string): Promise<LedgerEntry | undefined>;
}

/** A ledger entry as a table row: keyed by mailbox (partition) and item (row); the ETag lives beside it. */
type Row = Omit<LedgerEntry, 'mailboxId' | 'itemKey' | 'etag' | 'orphans' | 'graphMessageId'> & {
  partitionKey: string;
  rowKey: string;
  graphMessageId: string;
  /** JSON array of message ids. */
  orphans: string;
};

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number })?.statusCode;
}

/** Table keys may not hold `/ \ # ?` or control characters; object ids and item keys never do, but a bug should fail loudly. */
function checkKey(name: string, value: string): void {
  if (!value || /[/\\#?\u0000-\u001f\u007f-\u009f]/.test(value)) throw new TypeError(`ledger ${name} is not a valid table key: ${JSON.stringify(value)}`);
}

function parseOrphans(text: unknown): string[] {
  if (typeof text !== 'string' || !text) return [];
  const parsed = JSON.parse(text) as unknown;
  return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
}

function isFinal(entry: LedgerEntry): entry is LedgerEntry & { state: 'imported' | 'partial' } {
  return entry.state === 'imported' || entry.state === 'partial';
}

/** Rounds of read-and-retry when a conditional write meets a row another worker changed in between. */
const ROUNDS = 5;

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
        copyMayExist: e.copyMayExist === true,
        orphans: parseOrphans(e.orphans),
        etag: e.etag,
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  function rowOf(entry: Omit<LedgerEntry, 'etag'>): Row {
    return {
      partitionKey: entry.mailboxId,
      rowKey: entry.itemKey,
      state: entry.state,
      runId: entry.runId,
      graphMessageId: entry.graphMessageId ?? '',
      claimedBy: entry.claimedBy,
      claimedAt: entry.claimedAt,
      leaseExpiresAt: entry.leaseExpiresAt,
      updatedAt: entry.updatedAt,
      copyMayExist: entry.copyMayExist,
      orphans: JSON.stringify(entry.orphans),
    };
  }

  /** Writes `next` over the row only if it still has `etag`; undefined when another worker changed it first. */
  async function replaceIf(next: Omit<LedgerEntry, 'etag'>, etag: string): Promise<string | undefined> {
    try {
      const updated = await table.updateEntity(rowOf(next), 'Replace', { etag });
      return updated.etag ?? '';
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  const ours = (entry: LedgerEntry | undefined, owner: string): entry is LedgerEntry => !!entry && entry.state === 'claimed' && entry.claimedBy === owner;

  /** Merges `patch` into the row only if it still has `etag`; undefined when another worker changed it first. */
  async function mergeIf(mailboxId: string, itemKey: string, patch: Partial<Row>, etag: string): Promise<string | undefined> {
    try {
      const updated = await table.updateEntity({ ...patch, partitionKey: mailboxId, rowKey: itemKey }, 'Merge', { etag });
      return updated.etag ?? '';
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Merges `patch` into the row `owner` holds: first under the ETag the worker
   * holds (one request); when the row changed, it is read, and if it is still
   * the worker's (a loser handed a copy over) the patch goes on under the new
   * ETag and the orphans are reported.
   */
  async function writeHeld(mailboxId: string, itemKey: string, { owner, etag }: HeldOptions, patch: Partial<Row>): Promise<HeldWrite> {
    await ready();
    let tag = await mergeIf(mailboxId, itemKey, patch, etag);
    let orphans: string[] | undefined;
    for (let round = 0; tag === undefined && round < ROUNDS; round++) {
      const current = await read(mailboxId, itemKey);
      if (!ours(current, owner)) return { outcome: 'lost', entry: current };
      orphans = current.orphans;
      tag = await mergeIf(mailboxId, itemKey, patch, current.etag);
    }
    if (tag === undefined) throw new ArchiverError('CONFLICT', `ledger row ${mailboxId}/${itemKey} kept changing while it was written`, { retryable: true });
    return orphans ? { outcome: 'held', etag: tag, orphans } : { outcome: 'held', etag: tag };
  }

  const finalPatch = (options: CompleteOptions): Partial<Row> => ({
    state: options.state, runId: options.runId, graphMessageId: options.graphMessageId, updatedAt: new Date(now()).toISOString(), copyMayExist: false, orphans: '[]',
  });

  const ledger: Ledger = {
    get: read,

    async claimMany(mailboxId, itemKeys, options) {
      checkKey('mailbox id', mailboxId);
      await ready();
      const claims = new Map<string, TimedClaim>();
      const keys = [...new Set(itemKeys)];
      for (let i = 0; i < keys.length; i += TRANSACTION_LIMIT) {
        const chunk = keys.slice(i, i + TRANSACTION_LIMIT);
        const t = now();
        if (chunk.length > 1) {
          const fresh = chunk.map((itemKey) => {
            checkKey('item key', itemKey);
            return {
              mailboxId, itemKey, state: 'claimed' as const, runId: options.runId, claimedBy: options.owner,
              claimedAt: new Date(t).toISOString(), leaseExpiresAt: new Date(t + options.leaseInMs).toISOString(), updatedAt: new Date(t).toISOString(),
              copyMayExist: true, orphans: [],
            };
          });
          try {
            const response = await table.submitTransaction(fresh.map((f) => ['create', rowOf(f)]));
            const etags = new Map(response.subResponses.map((r) => [r.rowKey, r.etag ?? '']));
            for (const f of fresh) {
              claims.set(f.itemKey, { result: { outcome: 'claimed', etag: etags.get(f.itemKey) ?? '', leaseExpiresAt: f.leaseExpiresAt, takenOver: null }, claimedAt: t });
            }
            continue;
          } catch (error) {
            // A row exists already (an earlier run, a crashed claim): each unit is claimed on its own.
            if (statusOf(error) !== 409) throw error;
          }
        }
        for (const itemKey of chunk) {
          const claimedAt = now();
          claims.set(itemKey, { result: await ledger.claim(mailboxId, itemKey, options), claimedAt });
        }
      }
      return claims;
    },

    async completeMany(mailboxId, entries) {
      const completed = new Set<string>();
      await ready();
      for (let i = 0; i < entries.length; i += TRANSACTION_LIMIT) {
        const chunk = entries.slice(i, i + TRANSACTION_LIMIT);
        if (chunk.length < 2) continue;
        try {
          await table.submitTransaction(chunk.map((e) => ['update', { partitionKey: mailboxId, rowKey: e.itemKey, ...finalPatch(e) }, 'Merge', { etag: e.etag }]));
          for (const e of chunk) completed.add(e.itemKey);
        } catch (error) {
          if (![404, 409, 412].includes(statusOf(error) ?? 0)) throw error;
        }
      }
      return completed;
    },

    async claim(mailboxId, itemKey, { runId, owner, leaseInMs }) {
      checkKey('mailbox id', mailboxId);
      checkKey('item key', itemKey);
      await ready();
      for (let round = 0; round < ROUNDS; round++) {
        const t = now();
        const fresh: Omit<LedgerEntry, 'etag'> = {
          mailboxId,
          itemKey,
          state: 'claimed',
          runId,
          claimedBy: owner,
          claimedAt: new Date(t).toISOString(),
          leaseExpiresAt: new Date(t + leaseInMs).toISOString(),
          updatedAt: new Date(t).toISOString(),
          // The claimer may create the message at once: from here on a copy may exist.
          copyMayExist: true,
          orphans: [],
        };
        const existing = await (async () => {
          try {
            const created = await table.createEntity(rowOf(fresh));
            return { etag: created.etag ?? '' };
          } catch (error) {
            if (statusOf(error) !== 409) throw error;
            return read(mailboxId, itemKey);
          }
        })();
        if (existing && !('mailboxId' in existing)) return { outcome: 'claimed', etag: existing.etag, leaseExpiresAt: fresh.leaseExpiresAt, takenOver: null };
        if (!existing) continue;
        if (isFinal(existing)) {
          return { outcome: 'already-imported', state: existing.state, runId: existing.runId, graphMessageId: existing.graphMessageId };
        }
        const expired = Date.parse(existing.leaseExpiresAt) <= t;
        // Our own earlier claim (a retried activity) is as unknown as a crashed one: take it over too.
        if (!expired && existing.claimedBy !== owner) {
          return { outcome: 'held-by-other', claimedBy: existing.claimedBy, runId: existing.runId, leaseExpiresAt: existing.leaseExpiresAt };
        }
        const tag = await replaceIf({ ...fresh, orphans: existing.orphans }, existing.etag);
        if (tag !== undefined) {
          return {
            outcome: 'claimed',
            etag: tag,
            leaseExpiresAt: fresh.leaseExpiresAt,
            takenOver: {
              runId: existing.runId,
              claimedBy: existing.claimedBy,
              leaseExpiresAt: existing.leaseExpiresAt,
              copyMayExist: existing.copyMayExist,
              orphans: existing.orphans,
            },
          };
        }
      }
      const last = await read(mailboxId, itemKey);
      if (last && isFinal(last)) return { outcome: 'already-imported', state: last.state, runId: last.runId, graphMessageId: last.graphMessageId };
      return { outcome: 'held-by-other', claimedBy: last?.claimedBy ?? 'unknown', runId: last?.runId ?? '', leaseExpiresAt: last?.leaseExpiresAt ?? '' };
    },

    async renew(mailboxId, itemKey, { owner, etag, leaseInMs }) {
      const t = now();
      return writeHeld(mailboxId, itemKey, { owner, etag }, { leaseExpiresAt: new Date(t + leaseInMs).toISOString(), updatedAt: new Date(t).toISOString() });
    },

    async complete(mailboxId, itemKey, { runId, owner, etag, state, graphMessageId }) {
      await ready();
      const patch = finalPatch({ runId, owner, etag, state, graphMessageId });
      // The ETag the worker holds proves the row is as it last saw it: its own claim, with no orphan it has not removed.
      let tag: string | undefined = etag;
      for (let round = 0; round < ROUNDS; round++) {
        if ((await mergeIf(mailboxId, itemKey, patch, tag)) !== undefined) return { outcome: 'completed' };
        const current = await read(mailboxId, itemKey);
        // Our own earlier complete landed though its answer was lost.
        if (current && isFinal(current) && current.graphMessageId === graphMessageId) return { outcome: 'completed' };
        if (!ours(current, owner)) return { outcome: 'lost', entry: current };
        if (current.orphans.length > 0) return { outcome: 'changed', etag: current.etag, orphans: current.orphans };
        tag = current.etag;
      }
      throw new ArchiverError('CONFLICT', `ledger row ${mailboxId}/${itemKey} kept changing while it was completed`, { retryable: true });
    },

    async release(mailboxId, itemKey, { owner, etag, copyMayExist }) {
      const t = new Date(now()).toISOString();
      // The lease ends now, so that the next worker need not wait for it; a copy that may exist stays known.
      await writeHeld(mailboxId, itemKey, { owner, etag }, { leaseExpiresAt: t, updatedAt: t, ...(copyMayExist ? {} : { copyMayExist: false }) });
    },

    async handOver(mailboxId, itemKey, graphMessageId) {
      await ready();
      for (let round = 0; round < ROUNDS; round++) {
        const current = await read(mailboxId, itemKey);
        if (!current || isFinal(current)) return { outcome: 'final', entry: current };
        if (current.orphans.includes(graphMessageId)) return { outcome: 'handed-over' };
        const next = { ...current, orphans: [...current.orphans, graphMessageId], copyMayExist: true, updatedAt: new Date(now()).toISOString() };
        if ((await replaceIf(next, current.etag)) !== undefined) return { outcome: 'handed-over' };
      }
      throw new ArchiverError('CONFLICT', `ledger row ${mailboxId}/${itemKey} kept changing while a copy was handed over`, { retryable: true });
    },
  };
  return ledger;
}
