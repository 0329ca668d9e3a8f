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
import { optionalOption, parseArgs } from '../../cli/args';
import { numberOption, runEmulatorMain, serveUntilSignalled } from '../process';
import { startTeleMessageEmulator } from './server';
import { emulatorSettings } from '../settings';

/** Starts the emulator with a sample day from command-line options and keeps it running until signalled. */
export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ['duplicate-across-pages']);
  const fromEnv = emulatorSettings();
  const seed = optionalOption(args, 'seed') ?? fromEnv.seed;
  const bigItems = optionalOption(args, 'big-items');
  const day = sampleDay({
    seed,
    day: optionalOption(args, 'day'),
    generatedItems: numberOption(args, 'generated-items'),
    invalidRecords: numberOption(args, 'invalid-records'),
    bigItems: bigItems === undefined ? undefined : bigItems !== 'false',
  });
  const faultRate = numberOption(args, 'fault-rate') ?? fromEnv.teleMessageFaultRate;
  const emulator = await startTeleMessageEmulator({
    items: day.records,
    media: day.media,
    username: optionalOption(args, 'username'),
    password: process.env.TM_EMULATOR_PASSWORD || undefined,
    faultRate: Number.isFinite(faultRate) ? faultRate : 0,
    seed,
    duplicateAcrossPages: args.options.has('duplicate-across-pages'),
    port: numberOption(args, 'port'),
  });
  serveUntilSignalled({ url: emulator.url, port: emulator.port, username: emulator.username, records: day.records.length }, () => emulator.stop());
}

if (require.main === module) runEmulatorMain('telemessage emulator', main);
