/**
 * `npm run drill`: the race drill over many seeds (exactly once under kills,
 * faults and overlapping runs). Each seed prints its figures; the exit code is
 * 1 when any seed breaks the promise.
 *
 *   npm run drill [-- --seeds 8] [--seed <one seed>] [--lanes 3] [--items 40] [--fault-rate 0.3] [--keep-state]
 */
import { optionalOption, parseArgs } from '../local/cli/args';
import { numberOption } from '../local/emulators/process';
import { describeRaceDrill, runRaceDrill } from './race';

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['keep-state']);
  const one = optionalOption(args, 'seed');
  const count = numberOption(args, 'seeds') ?? 6;
  const seeds = one ? [one] : Array.from({ length: count }, (_, i) => `drill-${i + 1}`);
  let failed = 0;
  for (const seed of seeds) {
    process.stdout.write(`race drill, seed ${seed}\n`);
    const result = await runRaceDrill({
      seed,
      lanes: numberOption(args, 'lanes'),
      generatedItems: numberOption(args, 'items'),
      faultRate: numberOption(args, 'fault-rate'),
      keepState: args.options.has('keep-state'),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`${describeRaceDrill(result)}\n`);
    for (const p of result.problems.slice(0, 20)) process.stdout.write(`  ${p}\n`);
    if (!result.ok) failed++;
  }
  process.stdout.write(`${seeds.length - failed} of ${seeds.length} seeds held exactly once\n`);
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`drill: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(2);
  },
);
