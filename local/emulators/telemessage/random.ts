/**
 * Deterministic randomness for the emulator and the sample day: the same seed
 * gives the same faults, the same traffic and the same bytes on every machine.
 */
import { createHash } from 'node:crypto';

/** A 32-bit seed from any text (the first four bytes of its SHA-256). */
export function hashSeed(text: string): number {
  return createHash('sha256').update(text, 'utf8').digest().readUInt32LE(0);
}

/** mulberry32: a small, fast PRNG with a 32-bit state; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded PRNG with the helpers the generators need. */
export class SeededRandom {
  private readonly next: () => number;

  constructor(seed: string) {
    this.next = mulberry32(hashSeed(seed));
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(values: readonly T[]): T {
    if (values.length === 0) throw new RangeError('pick from an empty list');
    return values[Math.floor(this.next() * values.length)];
  }

  /** `count` distinct values from `values`, in random order. */
  sample<T>(values: readonly T[], count: number): T[] {
    const pool = [...values];
    const out: T[] = [];
    while (out.length < count && pool.length > 0) out.push(pool.splice(Math.floor(this.next() * pool.length), 1)[0]);
    return out;
  }
}
