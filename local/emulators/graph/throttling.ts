/**
 * Outlook's per-mailbox limits as "Microsoft Graph service-specific throttling
 * limits" states them for an app and mailbox: 4 concurrent requests, 10,000
 * requests in 10 minutes, 150 MB uploaded (PATCH, POST, PUT) in 5 minutes.
 * Exceeding one answers 429 with Retry-After; "if an application exceeds the
 * limit in one mailbox, it does not affect the ability to access another".
 *
 * Every request counts toward the 10-minute budget, throttled ones included:
 * the throttling guidance warns that "all requests accrue against your usage
 * limits", so a client that retries without waiting digs itself deeper.
 */
import { GraphHttpError } from './errors';
import type { GraphLimits, MailboxStats } from './types';

const TEN_MINUTES_MS = 10 * 60_000;
const FIVE_MINUTES_MS = 5 * 60_000;

interface MailboxState {
  inFlight: number;
  requestTimes: number[];
  uploads: { at: number; bytes: number }[];
  stats: MailboxStats;
}

/** Per-mailbox admission control; `admit` either returns a release function or throws a 429. */
export class MailboxThrottle {
  private readonly mailboxes = new Map<string, MailboxState>();

  constructor(private readonly limits: () => GraphLimits, private readonly now: () => number = Date.now) {}

  private state(mailboxId: string): MailboxState {
    let s = this.mailboxes.get(mailboxId);
    if (!s) {
      s = {
        inFlight: 0,
        requestTimes: [],
        uploads: [],
        stats: { requests: 0, maxConcurrency: 0, inFlight: 0, throttled: { concurrency: 0, requestRate: 0, uploadBytes: 0 }, uploadedBytes: 0, firstAdmittedAt: 0, lastAdmittedAt: 0 },
      };
      this.mailboxes.set(mailboxId, s);
    }
    return s;
  }

  private retryAfter(ms: number): Record<string, string> {
    return { 'Retry-After': String(Math.max(1, Math.ceil(ms / 1000))) };
  }

  /** Admits one request to a mailbox (throws 429 GraphHttpError when over a limit); call the result when it ends. */
  admit(mailboxId: string, uploadBytes: number): () => void {
    const limits = this.limits();
    const s = this.state(mailboxId);
    const now = this.now();
    const requestWindow = TEN_MINUTES_MS * limits.timeScale;
    const uploadWindow = FIVE_MINUTES_MS * limits.timeScale;
    while (s.requestTimes.length && s.requestTimes[0] <= now - requestWindow) s.requestTimes.shift();
    while (s.uploads.length && s.uploads[0].at <= now - uploadWindow) s.uploads.shift();

    s.stats.requests++;
    const overRate = s.requestTimes.length >= limits.requestsPer10Min;
    s.requestTimes.push(now);
    if (overRate) {
      s.stats.throttled.requestRate++;
      const oldestInWindow = s.requestTimes[s.requestTimes.length - 1 - limits.requestsPer10Min] ?? now;
      throw new GraphHttpError(429, 'ApplicationThrottled', 'Application is over its MailboxRequests limit.',
        this.retryAfter(oldestInWindow + requestWindow - now));
    }
    if (s.inFlight >= limits.concurrentPerMailbox) {
      s.stats.throttled.concurrency++;
      throw new GraphHttpError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.',
        this.retryAfter(1000));
    }
    if (uploadBytes > 0) {
      const used = s.uploads.reduce((sum, u) => sum + u.bytes, 0);
      if (used + uploadBytes > limits.uploadBytesPer5Min) {
        s.stats.throttled.uploadBytes++;
        // Retry once enough of the window has expired to make room for this body.
        let freed = 0;
        let until = now;
        for (const u of s.uploads) {
          freed += u.bytes;
          until = u.at + uploadWindow;
          if (used - freed + uploadBytes <= limits.uploadBytesPer5Min) break;
        }
        throw new GraphHttpError(429, 'ApplicationThrottled', 'Application is over its IncomingBytes limit.',
          this.retryAfter(until - now));
      }
      s.uploads.push({ at: now, bytes: uploadBytes });
      s.stats.uploadedBytes += uploadBytes;
    }
    s.inFlight++;
    s.stats.firstAdmittedAt ||= now;
    s.stats.lastAdmittedAt = now;
    s.stats.inFlight = s.inFlight;
    s.stats.maxConcurrency = Math.max(s.stats.maxConcurrency, s.inFlight);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      s.inFlight--;
      s.stats.inFlight = s.inFlight;
    };
  }

  /** A copy of the statistics, keyed by mailbox (user object id). */
  stats(): Record<string, MailboxStats> {
    const out: Record<string, MailboxStats> = {};
    for (const [id, s] of this.mailboxes) out[id] = structuredClone(s.stats);
    return out;
  }

  /** Forgets counters and windows (tests). */
  reset(): void {
    this.mailboxes.clear();
  }
}
