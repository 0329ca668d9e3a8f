/**
 * Runs the TeleMessage archive emulator as its own process with a sample day
 * (for the kill/resume test, where every service lives in a process of its
 * own, as in production):
 *
 *   node dist/local/emulators/telemessage/main.js [--generated-items 300] [--big-items true|false]
 *        [--invalid-records 0] [--day 2026-11-25] [--seed o2-archiver] [--port 0]
 *        [--username u] [--fault-rate 0] [--duplicate-across-pages]
 *
 * The password is read from TM_EMULATOR_PASSWORD (never from the command
 * line, where `ps` would show it) and defaults to the emulator's own. When
 * listening it prints one JSON line `{"url","port","username","records","pid"}`
 * on stdout; SIGTERM or SIGINT stops it. Fault rate and seed default to
 * TM_EMULATOR_FAULT_RATE and EMULATOR_SEED. The sample day is made from its
 * seed, so a restarted emulator serves the same records.
 */
import { sampleDay } from '../../sample';
import { startTeleMessageEmulator } from './server';

function option(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

function numberOption(args: string[], name: string): number | undefined {
  const value = option(args, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new RangeError(`--${name} must be a number, not ${JSON.stringify(value)}`);
  return n;
}

/** Starts the emulator with a sample day from command-line options and keeps it running until signalled. */
export async function main(args: string[]): Promise<void> {
  const seed = option(args, 'seed') ?? process.env.EMULATOR_SEED ?? 'o2-archiver';
  const day = sampleDay({
    seed,
    day: option(args, 'day'),
    generatedItems: numberOption(args, 'generated-items'),
    invalidRecords: numberOption(args, 'invalid-records'),
    bigItems: option(args, 'big-items') === undefined ? undefined : option(args, 'big-items') !== 'false',
  });
  const faultRate = numberOption(args, 'fault-rate') ?? Number(process.env.TM_EMULATOR_FAULT_RATE ?? 0);
  const emulator = await startTeleMessageEmulator({
    items: day.records,
    media: day.media,
    username: option(args, 'username'),
    password: process.env.TM_EMULATOR_PASSWORD || undefined,
    faultRate: Number.isFinite(faultRate) ? faultRate : 0,
    seed,
    duplicateAcrossPages: args.includes('--duplicate-across-pages'),
    port: numberOption(args, 'port'),
  });
  process.stdout.write(
    `${JSON.stringify({ url: emulator.url, port: emulator.port, username: emulator.username, records: day.records.length, pid: process.pid })}\n`,
  );
  const stop = () => {
    void emulator.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`telemessage emulator: ${(e as Error)?.message ?? String(e)}\n`);
    process.exit(1);
  });
}
