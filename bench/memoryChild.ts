/**
 * The child of the memory bench (bench/memory.ts): the connector alone, as a
 * Functions instance runs it (the local driver, its orchestrators and every
 * activity), in a process that loads nothing else. It reads the settings from
 * its environment, uploads the mapping file it is given, archives the window
 * and prints one JSON line with the imported count and its peak RSS.
 *
 *   node dist/bench/memoryChild.js <from> <to> <mapping CSV>
 */
import { createLocalRunner } from '../local/runner';
import { readSettings } from '../shared/platform/config';
import { uploadMapping } from './mapping';

async function child(from: string, to: string, mappingCsv: string): Promise<void> {
  const settings = readSettings(process.env);
  const runner = await createLocalRunner({ settings, timeScale: 0.05 });
  // With BENCH_VERBOSE, where memory goes: the resident set after loading, then twice a second with the run's phase.
  const verbose = !!process.env.BENCH_VERBOSE;
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  if (verbose) process.stderr.write(`loaded: rss ${mib(process.memoryUsage().rss)} MiB\n`);
  let phase = '';
  const sampler = verbose
    ? setInterval(() => {
      const m = process.memoryUsage();
      process.stderr.write(`${phase}: rss ${mib(m.rss)} MiB, heap ${mib(m.heapUsed)} of ${mib(m.heapTotal)}, array buffers ${mib(m.arrayBuffers)}\n`);
    }, 500)
    : undefined;
  await uploadMapping(runner, mappingCsv);
  const run = await runner.startRun({ trigger: 'cli', window: { from, to } });
  const { report } = await runner.waitForRun(run, (status) => (phase = (status as { phase?: string }).phase ?? ''));
  // getrusage's ru_maxrss: the largest resident set the process ever had, in KiB on Linux.
  if (sampler) clearInterval(sampler);
  process.stdout.write(`${JSON.stringify({ imported: report?.counts.imported ?? 0, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
}

child(process.argv[2], process.argv[3], process.argv[4]).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
