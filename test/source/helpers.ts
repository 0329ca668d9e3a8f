/** Helpers shared by the source, staging and emulator tests. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RetryProfile } from '../../shared/platform/retry';

/** One fixture item file, parsed: a fresh copy on every call. */
export function fixtureItem(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'fixtures', 'items', `${name}.json`), 'utf8'));
}

/** A small retry budget so that tests that spend it finish quickly. */
export const quickRetry: RetryProfile = {
  name: 'quickRetry', maxAttempts: 4, initialDelayInMs: 5, maxDelayInMs: 20, maxElapsedInMs: 30_000,
};

/** Reads a whole stream into one buffer. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}
