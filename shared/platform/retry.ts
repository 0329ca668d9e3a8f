/**
 * Retry with exponential backoff and full jitter, bounded in attempts and in
 * elapsed time, honouring a server's Retry-After. Named profiles, never
 * numbers scattered through calls.
 */

export interface RetryProfile {
  name: string;
  maxAttempts: number;
  initialDelayInMs: number;
  maxDelayInMs: number;
  /** Give up once this much time has passed since the first attempt. */
  maxElapsedInMs: number;
}

/** TeleMessage calls: a 30% transient fault rate must be a non-event (0.3^12 ≈ 5e-7). */
export const sourceRetry: RetryProfile = {
  name: 'sourceRetry', maxAttempts: 12, initialDelayInMs: 500, maxDelayInMs: 30_000, maxElapsedInMs: 5 * 60_000,
};

/** Microsoft Graph calls: the same budget; Retry-After of 429/503 wins over the backoff. */
export const graphRetry: RetryProfile = {
  name: 'graphRetry', maxAttempts: 12, initialDelayInMs: 500, maxDelayInMs: 60_000, maxElapsedInMs: 10 * 60_000,
};

/** What a failed attempt means for the next one. */
export interface RetryDecision {
  retry: boolean;
  /** The server's Retry-After, in ms, when it gave one. */
  retryAfterInMs?: number;
}

export interface RetryOptions {
  /** Scales every delay (tests and the local stack run faster); 1 in production. */
  timeScale?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  onRetry?: (info: { attempt: number; delayInMs: number; error: unknown }) => void;
}

/** Thrown when the retry budget is spent; `lastError` is the final attempt's error. */
export class RetryBudgetExhaustedError extends Error {
  constructor(
    readonly profile: string,
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(`gave up after ${attempts} attempts (${profile}): ${lastError instanceof Error ? lastError.message : String(lastError)}`);
    this.name = 'RetryBudgetExhaustedError';
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The backoff before attempt `attempt + 1`: full jitter over an exponential cap, or Retry-After. */
export function backoffDelayInMs(profile: RetryProfile, attempt: number, random: () => number, retryAfterInMs?: number): number {
  if (retryAfterInMs !== undefined) return Math.min(retryAfterInMs, profile.maxDelayInMs);
  const cap = Math.min(profile.maxDelayInMs, profile.initialDelayInMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/**
 * Runs `operation` until it succeeds, `classify` says a failure is final, or
 * the profile's budget is spent (then RetryBudgetExhaustedError).
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  profile: RetryProfile,
  classify: (error: unknown) => RetryDecision,
  options: RetryOptions = {},
): Promise<T> {
  const scale = options.timeScale ?? 1;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const decision = classify(error);
      if (!decision.retry) throw error;
      const delayInMs = backoffDelayInMs(profile, attempt, random, decision.retryAfterInMs) * scale;
      const elapsed = now() - started;
      if (attempt >= profile.maxAttempts || elapsed + delayInMs > profile.maxElapsedInMs * scale) {
        throw new RetryBudgetExhaustedError(profile.name, attempt, error);
      }
      options.onRetry?.({ attempt, delayInMs, error });
      await sleep(delayInMs);
    }
  }
}

/** Parses a Retry-After header (seconds or an HTTP date) into ms. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
