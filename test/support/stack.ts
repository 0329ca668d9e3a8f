/** A local stack for end-to-end tests: its own Azurite and emulators in a temp dir, a small sample day. */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContainerNames } from '../../shared/names';
import { createMappingStore } from '../../shared/mapping';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack';
import { createLocalRunner, type LocalRunner } from '../../local/runner';

export const PROJECT_ROOT = path.resolve(__dirname, '../..');
export const SAMPLE_WINDOW = { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' };

export interface TestStack {
  stack: LocalStack;
  runner: LocalRunner;
  stateDir: string;
}

/** Starts a stack with a small sample day and the sample mapping uploaded. */
export async function startTestStack(options: Partial<LocalStackOptions> & { runnerTimeScale?: number } = {}): Promise<TestStack> {
  const stateDir = options.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'o2-stack-'));
  const stack = await startLocalStack({
    stateDir,
    env: { RETRY_TIME_SCALE: '0.01', QUEUE_VISIBILITY_TIMEOUT_SECONDS: '30', ...options.env },
    sample: { generatedItems: 24, bigItems: false, ...options.sample },
    ...options,
  });
  const runner = await createLocalRunner({ settings: stack.settings, timeScale: options.runnerTimeScale ?? 0.01 });
  const mapping = createMappingStore(runner.infra.storage.container(ContainerNames.mapping), { defaultRegion: 'GB' });
  const uploaded = await mapping.replace(readFileSync(path.join(PROJECT_ROOT, 'fixtures/mapping/telemessage-format.csv'), 'utf8'), { who: 'test' });
  if (!uploaded.ok) throw new Error('sample mapping rejected');
  return { stack, runner, stateDir };
}
