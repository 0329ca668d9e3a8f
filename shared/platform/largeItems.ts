/**
 * How many bytes of large items a process works on at once. Each large item
 * in flight holds a few megabytes however well it streams (upload blocks,
 * a media range, an encoder's buffers), so eight 10 MiB items taken side by
 * side would hold eight times that; this budget lets the first ones through
 * and queues the rest, so the process's memory stays flat whatever a batch
 * holds. Small items (every SMS) never wait. One budget per process, because
 * memory is per process.
 */

/** Items up to this size pass without asking. */
export const LARGE_ITEM_BYTES = 1024 * 1024;

/** Bytes of large items in flight at once in a process: two items at the 10 MiB limit. */
export const LARGE_ITEMS_BUDGET_BYTES = 2 * 10 * 1024 * 1024;

export class ByteBudget {
  private inFlight = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  constructor(readonly capacity: number) {}

  /** Bytes held now. */
  get held(): number {
    return this.inFlight;
  }

  /**
   * Waits until `bytes` fit (or nothing else is held: an item larger than the
   * whole budget still goes, alone), then holds them; the result gives them back.
   */
  async acquire(bytes: number): Promise<() => void> {
    if (this.waiting.length === 0 && this.fits(bytes)) this.inFlight += bytes;
    else await new Promise<void>((grant) => this.waiting.push({ bytes, grant })); // grantWaiting counts them in

    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= bytes;
      this.grantWaiting();
    };
  }

  private fits(bytes: number): boolean {
    return this.inFlight === 0 || this.inFlight + bytes <= this.capacity;
  }

  private grantWaiting(): void {
    // In order of arrival, so a large item is never overtaken for ever by smaller ones.
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes)) {
      const next = this.waiting.shift()!;
      this.inFlight += next.bytes;
      next.grant();
    }
  }
}

const budget = new ByteBudget(LARGE_ITEMS_BUDGET_BYTES);

/** Runs `work` for an item of `bytes`, within the process's budget for large items. */
export async function withinLargeItemBudget<T>(bytes: number, work: () => Promise<T>): Promise<T> {
  if (bytes <= LARGE_ITEM_BYTES) return work();
  const release = await budget.acquire(bytes);
  try {
    return await work();
  } finally {
    release();
  }
}
