/**
 * A unit this worker holds in the ledger. Its lease is renewed in the
 * background while the worker works (Retry-After waits and upload sessions
 * can outlast any fixed lease), and every write to the mailbox first passes
 * `guard`, which makes sure the claim still holds for at least the margin a
 * request needs: a worker that lost the unit (it stalled, or lost storage for
 * longer than the lease) learns so before its next write, never after it.
 */
import { ArchiverError } from '../../model/errors';
import type { ClaimResult, Ledger, LedgerEntry } from './ledger';

/** Thrown by a held unit's writes once another worker holds or finished the unit. */
export class UnitLostError extends ArchiverError {
  constructor(
    readonly itemKey: string,
    /** The ledger row as the worker last found it (undefined when it could not be read). */
    readonly entry: LedgerEntry | undefined,
  ) {
    super('UNIT_LOST', `another worker took over unit ${itemKey}`);
    this.name = 'UnitLostError';
  }
}

export interface HeldUnitOptions {
  ledger: Ledger;
  mailboxId: string;
  itemKey: string;
  owner: string;
  leaseInMs: number;
  /** How much of the lease must be left when a write starts: more than one request can take, plus clock skew. */
  marginInMs: number;
  now?: () => number;
}

type Claimed = Extract<ClaimResult, { outcome: 'claimed' }>;

/** A claim held by this worker: renewed while it works, checked before every write, completed or released once. */
export class HeldUnit {
  private etag: string;
  private heldUntil: number;
  private lostEntry: { entry: LedgerEntry | undefined } | undefined;
  /** Copies handed over by workers that lost the unit, not yet removed. */
  private orphans: Set<string>;
  /** Ledger writes of this claim, one at a time: a background renewal never races a complete. */
  private writes: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  /** `claimedAt`: the time just before the claim request was sent (the lease runs from no later than that). */
  constructor(
    private readonly options: HeldUnitOptions,
    claim: Claimed,
    claimedAt: number,
  ) {
    this.now = options.now ?? Date.now;
    this.etag = claim.etag;
    this.heldUntil = claimedAt + options.leaseInMs;
    this.orphans = new Set(claim.takenOver?.orphans ?? []);
  }

  /** Renews the lease every quarter of it until the unit is completed or released. */
  keepAlive(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(50, this.options.leaseInMs / 4));
    this.timer.unref();
  }

  /** Who holds the claim. */
  get owner(): string {
    return this.options.owner;
  }

  /** True once another worker holds or finished the unit. */
  get lost(): boolean {
    return this.lostEntry !== undefined;
  }

  private serial<T>(write: () => Promise<T>): Promise<T> {
    const next = this.writes.then(write, write);
    this.writes = next.catch(() => undefined);
    return next;
  }

  private markLost(entry: LedgerEntry | undefined): UnitLostError {
    this.lostEntry = { entry };
    this.stop();
    return new UnitLostError(this.options.itemKey, entry);
  }

  /** Moves the lease on now; marks the unit lost when the row is no longer this worker's. */
  renew(): Promise<void> {
    return this.serial(async () => {
      if (this.lostEntry) return;
      const { ledger, mailboxId, itemKey, owner, leaseInMs } = this.options;
      const sentAt = this.now();
      const result = await ledger.renew(mailboxId, itemKey, { owner, etag: this.etag, leaseInMs });
      if (result.outcome === 'lost') {
        this.markLost(result.entry);
        return;
      }
      this.etag = result.etag;
      this.heldUntil = sentAt + leaseInMs;
      for (const id of result.orphans ?? []) this.orphans.add(id);
    });
  }

  /** Resolves when a write may start: the claim holds for at least the margin (renewed if need be); else throws UnitLostError. */
  async guard(): Promise<void> {
    if (!this.lostEntry && this.now() + this.options.marginInMs < this.heldUntil) return;
    if (!this.lostEntry) await this.renew();
    if (this.lostEntry) throw new UnitLostError(this.options.itemKey, this.lostEntry.entry);
  }

  /** Copies handed over to this claim that are still to be removed (never `keep`, the one to record). */
  orphansToRemove(keep?: string): string[] {
    return [...this.orphans].filter((id) => id !== keep);
  }

  /** Notes that a handed-over copy is gone. */
  removedOrphan(id: string): void {
    this.orphans.delete(id);
  }

  /**
   * Records the unit as imported with `graphMessageId`. Returns the orphans to
   * remove first when a loser handed one over meanwhile (then call again);
   * throws UnitLostError when the unit is no longer this worker's.
   */
  complete(state: 'imported' | 'partial', graphMessageId: string, runId: string): Promise<'completed' | { orphans: string[] }> {
    return this.serial(async () => {
      if (this.lostEntry) throw new UnitLostError(this.options.itemKey, this.lostEntry.entry);
      this.orphans.delete(graphMessageId);
      if (this.orphans.size > 0) return { orphans: [...this.orphans] };
      const { ledger, mailboxId, itemKey, owner } = this.options;
      const result = await ledger.complete(mailboxId, itemKey, { owner, etag: this.etag, runId, state, graphMessageId });
      if (result.outcome === 'completed') {
        this.stop();
        return 'completed';
      }
      if (result.outcome === 'lost') throw this.markLost(result.entry);
      this.etag = result.etag;
      for (const id of result.orphans) if (id !== graphMessageId) this.orphans.add(id);
      return { orphans: [...this.orphans] };
    });
  }

  /**
   * Readies the claim to be recorded together with others (ledger.completeMany):
   * stops renewing, lets writes in flight finish, and returns the ETag to
   * record it under, or undefined when it must be recorded on its own (it has
   * copies handed over to remove first, or it was lost).
   */
  async readyForBatch(graphMessageId: string): Promise<string | undefined> {
    this.stop();
    await this.writes;
    this.orphans.delete(graphMessageId);
    if (this.lostEntry || this.orphans.size > 0) return undefined;
    return this.etag;
  }

  /** Gives the claim up after a failure; `copyMayExist` false only when this worker knows no copy is in the mailbox. */
  release(copyMayExist: boolean): Promise<void> {
    this.stop();
    return this.serial(async () => {
      if (this.lostEntry) return;
      const { ledger, mailboxId, itemKey, owner } = this.options;
      await ledger.release(mailboxId, itemKey, { owner, etag: this.etag, copyMayExist: copyMayExist || this.orphans.size > 0 });
    });
  }

  /** Stops the background renewal. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
