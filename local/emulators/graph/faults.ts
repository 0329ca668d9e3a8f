/**
 * Transient faults, seeded so a run can be repeated: 429 and 503 with
 * Retry-After (Graph's throttling guidance: wait that long), 500, 502, 504,
 * and a dropped connection. A fault's draw depends only on the seed, the
 * request's method and route shape, and how many such requests came before,
 * so the same traffic meets the same faults even when requests interleave.
 *
 * 500/502/504 and resets on a write may strike after the write took effect
 * (a gateway timing out on a request that did complete), which is what makes
 * a client prove its idempotency.
 */
import { createHash } from 'node:crypto';
import type { FailRule } from './types';

export type FaultKind = '429' | '503' | '500' | '502' | '504' | 'reset';

export interface FaultDecision {
  kind: FaultKind;
  status: number;
  code: string;
  message: string;
  retryAfterInSeconds?: number;
  /** True: run the request, then answer with the fault. */
  afterExecution: boolean;
}

const KINDS: { kind: FaultKind; weight: number }[] = [
  { kind: '429', weight: 3 },
  { kind: '503', weight: 2 },
  { kind: '500', weight: 1 },
  { kind: '502', weight: 1 },
  { kind: '504', weight: 2 },
  { kind: 'reset', weight: 1 },
];

const DESCRIPTIONS: Record<FaultKind, { status: number; code: string; message: string }> = {
  '429': { status: 429, code: 'TooManyRequests', message: 'Too many requests.' },
  '503': { status: 503, code: 'ServiceUnavailable', message: 'Service unavailable.' },
  '500': { status: 500, code: 'InternalServerError', message: 'An internal server error occurred.' },
  '502': { status: 502, code: 'BadGateway', message: 'Bad gateway.' },
  '504': { status: 504, code: 'GatewayTimeout', message: 'Gateway timeout.' },
  reset: { status: 0, code: 'ConnectionReset', message: 'Connection reset.' },
};

function draw(seed: string, key: string, n: number, salt: string): number {
  const h = createHash('sha256').update(`${seed}\u0000${key}\u0000${n}\u0000${salt}`).digest();
  return h.readUInt32BE(0) / 0x1_0000_0000;
}

/** Replaces ids in a path with `{id}`, so that faults key on the route's shape, not on random ids. */
export function routeShape(path: string): string {
  const segs = path.split('/');
  const idAfter = new Set(['users', 'mailfolders', 'messages', 'attachments', 'childfolders', 'sessions']);
  return segs.map((s, i) => (i > 0 && idAfter.has(segs[i - 1].toLowerCase()) ? '{id}' : s)).join('/');
}

/** Seeded random faults plus one-off rules set by tests. */
export class FaultInjector {
  private readonly counts = new Map<string, number>();
  private readonly rules: (FailRule & { remaining: number })[] = [];
  readonly injected: Record<string, number> = {};

  constructor(
    public rate: number,
    private readonly seed: string,
    /** Retry-After of random 429/503 faults; seeded 1 or 2 s when not given. */
    private readonly retryAfterInSeconds?: number,
  ) {}

  /** Queues a one-off failure for the next matching request(s). */
  failNext(rule: FailRule): void {
    this.rules.push({ ...rule, remaining: rule.times ?? 1 });
  }

  /** Drops every queued one-off failure. */
  clearRules(): void {
    this.rules.length = 0;
  }

  /** Decides whether this request fails; `isWrite` allows after-execution faults. */
  decide(method: string, path: string, isWrite: boolean, allowReset: boolean): FaultDecision | null {
    const rule = this.rules.find((r) => r.remaining > 0
      && (!r.method || r.method.toUpperCase() === method.toUpperCase())
      && (typeof r.pathPattern === 'string' ? path.includes(r.pathPattern) : r.pathPattern.test(path)));
    if (rule) {
      rule.remaining--;
      const kind: FaultKind = rule.reset ? 'reset' : (String(rule.status) as FaultKind);
      this.injected[`rule:${kind}`] = (this.injected[`rule:${kind}`] ?? 0) + 1;
      return {
        kind,
        status: rule.status,
        code: rule.code ?? DESCRIPTIONS[kind]?.code ?? 'InjectedFailure',
        message: rule.message ?? DESCRIPTIONS[kind]?.message ?? 'Injected failure.',
        retryAfterInSeconds: rule.retryAfterInSeconds,
        afterExecution: !!rule.afterExecution,
      };
    }
    if (this.rate <= 0) return null;
    const key = `${method.toUpperCase()} ${routeShape(path)}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    if (draw(this.seed, key, n, 'hit') >= this.rate) return null;
    const candidates = KINDS.filter((k) => allowReset || k.kind !== 'reset');
    const total = candidates.reduce((s, k) => s + k.weight, 0);
    let r = draw(this.seed, key, n, 'kind') * total;
    let kind: FaultKind = candidates[0].kind;
    for (const c of candidates) {
      if (r < c.weight) { kind = c.kind; break; }
      r -= c.weight;
    }
    const d = DESCRIPTIONS[kind];
    const retryable = kind === '429' || kind === '503';
    const afterExecution = isWrite && !retryable && draw(this.seed, key, n, 'after') < 0.5;
    this.injected[kind] = (this.injected[kind] ?? 0) + 1;
    return {
      kind,
      status: d.status,
      code: d.code,
      message: d.message,
      retryAfterInSeconds: retryable ? (this.retryAfterInSeconds ?? 1 + Math.floor(draw(this.seed, key, n, 'wait') * 2)) : undefined,
      afterExecution,
    };
  }
}
