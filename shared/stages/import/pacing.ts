/**
 * Per-mailbox admission of Graph requests, under Exchange Online's limits for
 * one app on one mailbox (Graph docs, "Outlook service limits"): at most 4
 * concurrent requests, 10,000 requests per 10 minutes and 150 MB of uploads
 * per 5 minutes. We stay under them rather than lean on 429s: each throttled
 * answer costs a Retry-After for the whole mailbox.
 */
import type { RequestGate } from '../../platform/graph/client';

export interface MailboxGateOptions {
  /** Requests in flight at once (Graph allows 4 per mailbox). */
  maxConcurrent: number;
  /** Requests allowed in any 10-minute window. */
  requestsPer10Min: number;
  /** Request-body bytes allowed in any 5-minute window. */
  uploadBytesPer5Min: number;
  /** Scales the windows and pauses (tests and the local stack run faster); 1 in production. */
  timeScale?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Graph's per-mailbox concurrency limit. */
export const GRAPH_MAX_CONCURRENT_PER_MAILBOX = 4;
/** Graph's per-mailbox request budget per 10 minutes. */
export const GRAPH_REQUESTS_PER_10_MIN = 10_000;
/** Graph's per-mailbox upload budget per 5 minutes (150 MB). */
export const GRAPH_UPLOAD_BYTES_PER_5_MIN = 150 * 1024 * 1024;
/** Share of a budget we use, leaving room for retries and for calls outside the importer. */
export const BUDGET_SHARE = 0.95;

const TEN_MINUTES = 10 * 60_000;
const FIVE_MINUTES = 5 * 60_000;

/** A sliding window: at most `limit` units in any `windowInMs`. */
class SlidingWindow {
  private readonly entries: { at: number; amount: number }[] = [];
  private total = 0;

  constructor(
    private readonly limit: number,
    private readonly windowInMs: number,
  ) {}

  /** How long to wait before `amount` fits (0 when it fits now). */
  waitFor(amount: number, now: number): number {
    this.expire(now);
    if (this.total + amount <= this.limit || this.entries.length === 0) return 0;
    let freed = this.total;
    for (const entry of this.entries) {
      freed -= entry.amount;
      if (freed + amount <= this.limit) return Math.max(1, entry.at + this.windowInMs - now);
    }
    return Math.max(1, this.entries[this.entries.length - 1].at + this.windowInMs - now);
  }

  record(amount: number, now: number): void {
    this.entries.push({ at: now, amount });
    this.total += amount;
  }

  private expire(now: number): void {
    while (this.entries.length && this.entries[0].at + this.windowInMs <= now) {
      this.total -= this.entries.shift()!.amount;
    }
  }
}

/**
 * A token bucket: `ratePerMs` tokens a millisecond, at most `capacity` saved
 * up. It spaces requests evenly at the budget's rate, where a sliding window
 * alone would let the whole budget go at once and then stall the mailbox for
 * the rest of the window.
 */
class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly ratePerMs: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.at = now;
  }

  /** How long to wait before a token is there (0 when one is). */
  waitFor(now: number): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerMs));
  }

  take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.at) * this.ratePerMs);
    this.at = now;
  }
}

/** A mailbox gate plus what it has seen, for tests and logs. */
export interface MailboxGate extends RequestGate {
  /** The most requests that were ever in flight at once. */
  readonly maxInFlightSeen: number;
  readonly inFlight: number;
}

/** Builds the gate of one mailbox: a semaphore, a token bucket, two sliding windows and a shared pause. */
export function createMailboxGate(options: MailboxGateOptions): MailboxGate {
  if (!Number.isInteger(options.maxConcurrent) || options.maxConcurrent < 1 || options.maxConcurrent > GRAPH_MAX_CONCURRENT_PER_MAILBOX) {
    throw new RangeError(`maxConcurrent must be 1 to ${GRAPH_MAX_CONCURRENT_PER_MAILBOX}`);
  }
  const scale = options.timeScale ?? 1;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const requestBudget = Math.max(1, Math.floor(options.requestsPer10Min * BUDGET_SHARE));
  const requests = new SlidingWindow(requestBudget, TEN_MINUTES * scale);
  // Evenly spaced at the budget's rate. The bucket may save up 2.5% of the budget while the mailbox is idle
  // (between steps, while outcomes are written), spent back to back afterwards: in any window at most 97.5%
  // of Graph's limit goes, and the idle moments cost no throughput.
  const spacing = new TokenBucket(requestBudget / (TEN_MINUTES * scale), Math.max(options.maxConcurrent, Math.floor(requestBudget * 0.025)), now());
  const bytes = new SlidingWindow(Math.max(1, Math.floor(options.uploadBytesPer5Min * BUDGET_SHARE)), FIVE_MINUTES * scale);
  const waiters: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlightSeen = 0;
  let pausedUntil = 0;

  async function acquire(): Promise<void> {
    if (inFlight < options.maxConcurrent) {
      inFlight++;
      return;
    }
    // The releasing request hands its slot straight to us, so inFlight never passes the limit.
    await new Promise<void>((resolve) => waiters.push(resolve));
  }

  function release(): void {
    const next = waiters.shift();
    if (next) next();
    else inFlight--;
  }

  return {
    get maxInFlightSeen() {
      return maxInFlightSeen;
    },
    get inFlight() {
      return inFlight;
    },
    pause(delayInMs) {
      pausedUntil = Math.max(pausedUntil, now() + delayInMs);
    },
    async run(attempt, requestBytes) {
      await acquire();
      try {
        // Holding the slot while we wait keeps the order fair and the count honest.
        for (;;) {
          const t = now();
          const wait = Math.max(pausedUntil - t, spacing.waitFor(t), requests.waitFor(1, t), bytes.waitFor(requestBytes, t));
          if (wait <= 0) break;
          await sleep(wait);
        }
        const t = now();
        spacing.take(t);
        requests.record(1, t);
        if (requestBytes > 0) bytes.record(requestBytes, t);
        maxInFlightSeen = Math.max(maxInFlightSeen, inFlight);
        return await attempt();
      } finally {
        release();
      }
    },
  };
}
