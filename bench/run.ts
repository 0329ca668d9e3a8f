/**
 * `npm run bench`: one sample day on the local stack, timed. Prints items
 * per second, the time of each phase and each activity, and whether the
 * targets hold. Speed targets live here, never in tests.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { startLocalStack } from '../local/stack';
import { createLocalRunner } from '../local/runner';
import { registeredFunctions } from '../local/driver/functionsCore';
import { ContainerNames } from '../shared/platform/names';
import { createMappingStore } from '../shared/stages/mapping';
import { convertItem } from '../shared/stages/convert';
import { validateRecord } from '../shared/stages/source';
import { findProjectRoot } from '../local/sample';
import type { StagedItem } from '../shared/model/item';

/** Targets on this project's reference machine (2 cores, 24 GiB). */
const TARGETS = {
  /** The whole sample day (311 items, three of them around 10 MiB), end to end. */
  sampleDayInSeconds: 90,
  /** Conversion alone, per small item. */
  convertPerItemInMs: 20,
};

async function benchConversion(root: string): Promise<number> {
  const raw = JSON.parse(readFileSync(path.join(root, 'fixtures/items/mms-photo.json'), 'utf8'));
  const validation = validateRecord(raw);
  if (!validation.ok) throw new Error('fixture invalid');
  const staged: StagedItem = { item: validation.item, sourceSha256: validation.sourceSha256, sizeInBytes: 0, stagedAt: '' };
  const media = new Map((validation.item.media ?? []).map((m) => [m.id, Buffer.from(m.dataBase64!, 'base64')]));
  const rounds = 200;
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    const result = await convertItem(staged, async (id) => Readable.from([media.get(id)!]), {
      maxItemBytes: 10 * 1024 * 1024, displayTimeZone: 'Europe/London', defaultRegion: 'GB',
    });
    if (!result.ok) throw new Error(result.detail);
    for await (const _chunk of result.eml) void _chunk;
  }
  return Number(process.hrtime.bigint() - started) / 1e6 / rounds;
}

async function benchSampleDay(root: string) {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'o2-bench-'));
  const stack = await startLocalStack({ stateDir });
  try {
    const runner = await createLocalRunner({ settings: stack.settings });
    const activityTimes: Record<string, { calls: number; ms: number }> = {};
    for (const fn of registeredFunctions.values()) {
      if (fn.triggerType !== 'activityTrigger') continue;
      const inner = fn.handler;
      fn.handler = async (...args: unknown[]) => {
        const t = Date.now();
        try {
          return await inner(...args);
        } finally {
          const entry = (activityTimes[fn.name] ??= { calls: 0, ms: 0 });
          entry.calls++;
          entry.ms += Date.now() - t;
        }
      };
    }
    const mapping = createMappingStore(runner.infra.storage.container(ContainerNames.mapping), { defaultRegion: 'GB' });
    await mapping.replace(readFileSync(path.join(root, 'fixtures/mapping/telemessage-format.csv'), 'utf8'), { who: 'bench' });
    const phases: { phase: string; atInSeconds: number }[] = [];
    const t0 = Date.now();
    const started = await runner.startRun({ trigger: 'cli', window: stack.sample.window });
    const { report } = await runner.waitForRun(started, (status) => {
      const phase = (status as { phase?: string }).phase ?? '?';
      if (phases[phases.length - 1]?.phase !== phase) phases.push({ phase, atInSeconds: (Date.now() - t0) / 1000 });
    });
    const seconds = (Date.now() - t0) / 1000;
    return { seconds, report: report!, phases, activityTimes };
  } finally {
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const root = findProjectRoot(__dirname);
  const convertMs = await benchConversion(root);
  const day = await benchSampleDay(root);
  const items = day.report.counts.sourceItems;
  const lines = [
    `conversion: ${convertMs.toFixed(2)} ms per small MMS (target <= ${TARGETS.convertPerItemInMs} ms): ${convertMs <= TARGETS.convertPerItemInMs ? 'met' : 'MISSED'}`,
    `sample day: ${items} items, ${day.report.counts.importUnits} units in ${day.seconds.toFixed(1)} s = ${(items / day.seconds).toFixed(1)} items/s (target <= ${TARGETS.sampleDayInSeconds} s): ${day.seconds <= TARGETS.sampleDayInSeconds ? 'met' : 'MISSED'}`,
    `  status ${day.report.status}; phases: ${day.phases.map((p) => `${p.phase}@${p.atInSeconds.toFixed(1)}s`).join(', ')}`,
    ...Object.entries(day.activityTimes).map(([name, t]) => `  ${name.padEnd(24)} ${String(t.calls).padStart(4)} calls ${(t.ms / 1000).toFixed(1).padStart(7)} s in all`),
  ];
  for (const line of lines) process.stdout.write(line + '\n');
}

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
