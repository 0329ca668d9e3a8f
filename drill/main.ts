/**
 * `npm run drill`: the drills of exactly once, each printing units expected,
 * imported, duplicated (must be 0) and lost (must be 0). The exit code is 1
 * when any drill breaks the promise.
 *
 * - kills: one run killed with SIGKILL at random points several times in a
 *   row, then started again until it finishes;
 * - faults: one run against TeleMessage and Graph answering 30% of requests
 *   with faults, start to end;
 * - poison: one message no stage can work in each of the run's stage queues;
 *   each must end in its stage's poison queue while the run finishes;
 * - race: overlapping runs, killed and resumed, under faults, over many seeds.
 *
 *   npm run drill [-- --only kills|faults|poison|race] [--seeds 6] [--seed <one seed>] [--lanes 3] [--items 40] [--fault-rate 0.3] [--keep-state]
 */
import { optionalOption, parseArgs } from '../local/cli/args';
import { numberOption } from '../local/emulators/process';
import { describeRaceDrill, runRaceDrill, type RaceDrillOptions } from './race';

type DrillName = 'kills' | 'faults' | 'poison' | 'race';

/** The single-run drills: one lane (the whole sample day), each with one hazard. */
const SINGLE: Record<Exclude<DrillName, 'race'>, Omit<RaceDrillOptions, 'seed'>> = {
  kills: { lanes: 1, faultRate: 0, killsPerLane: 4 },
  faults: { lanes: 1, faultRate: 0.3, killsPerLane: 0 },
  // A low dequeue limit, so a claim check that fails every time is set aside within a minute (what is no claim check goes at
  // once), and a lease long enough that no real message comes back that often on a busy machine.
  poison: { lanes: 1, faultRate: 0, killsPerLane: 0, poison: 'all', env: { MAX_DEQUEUE_COUNT: '3', QUEUE_VISIBILITY_TIMEOUT_SECONDS: '10' } },
};

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['keep-state']);
  const only = optionalOption(args, 'only') as DrillName | undefined;
  if (only && !['kills', 'faults', 'poison', 'race'].includes(only)) throw new Error(`--only takes kills, faults, poison or race, not ${only}`);
  const one = optionalOption(args, 'seed');
  const keepState = args.options.has('keep-state');
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const drills: { name: DrillName; options: RaceDrillOptions }[] = [];
  for (const name of ['kills', 'faults', 'poison'] as const) {
    if (!only || only === name) drills.push({ name, options: { ...SINGLE[name], seed: one ?? `${name}-1`, generatedItems: numberOption(args, 'items'), keepState, log } });
  }
  if (!only || only === 'race') {
    const count = numberOption(args, 'seeds') ?? 6;
    for (const seed of one ? [one] : Array.from({ length: count }, (_, i) => `drill-${i + 1}`)) {
      drills.push({
        name: 'race',
        options: { seed, lanes: numberOption(args, 'lanes'), generatedItems: numberOption(args, 'items'), faultRate: numberOption(args, 'fault-rate'), keepState, log },
      });
    }
  }
  let failed = 0;
  for (const drill of drills) {
    log(`${drill.name} drill, seed ${drill.options.seed}`);
    const result = await runRaceDrill(drill.options);
    log(`${drill.name}: ${describeRaceDrill(result)}`);
    for (const p of result.problems.slice(0, 20)) log(`  ${p}`);
    if (!result.ok) failed++;
  }
  log(`${drills.length - failed} of ${drills.length} drills held exactly once`);
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`drill: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exit(2);
  },
);
