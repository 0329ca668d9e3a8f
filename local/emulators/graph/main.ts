/**
 * Runs the Graph emulator as its own process (for the kill/resume test and
 * for `npm run emulators`-style setups):
 *
 *   node dist/local/emulators/graph/main.js --users tenant.json [--state-dir .local]
 *        [--port 0] [--token dev-token] [--fault-rate 0] [--seed o2-archiver] [--upload-session-status answer|refuse]
 *        [--latency-ms 0] [--filter-lag-ms 0] [--fault-retry-after-seconds N]
 *        [--non-draft-attachments allow|refuse] [--message-flags honour|ignore]
 *        [--delivery-time honour|ignore] [--extended-property-filter supported|refuse]
 *
 * `tenant.json` is an array of TenantUserInput. When listening it prints one
 * JSON line `{"url","betaUrl","port","caCertPath","token","pid"}` on stdout;
 * SIGTERM or SIGINT stops it. Token, fault rate and seed default to
 * GRAPH_DEV_TOKEN, GRAPH_EMULATOR_FAULT_RATE and EMULATOR_SEED (read as the
 * app's config reads them, with its defaults).
 */
import { readFileSync } from 'node:fs';
import { optionalOption, parseArgs } from '../../cli/args';
import { numberOption, runEmulatorMain, serveUntilSignalled } from '../process';
import { startGraphEmulator } from './server';
import { emulatorSettings } from '../settings';
import { usage } from '../../cli/args';
import type { TenantUserInput } from './types';

/** The value of a switch option, one of `allowed`, or undefined when absent. */
function choice<T extends string>(args: ReturnType<typeof parseArgs>, name: string, allowed: readonly T[]): T | undefined {
  const value = optionalOption(args, name);
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw usage(`--${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** Starts the emulator from command-line options and keeps it running until signalled. */
export async function main(argv: string[]): Promise<void> {
  const args = parseArgs(argv, ['log']);
  const usersFile = optionalOption(args, 'users');
  const users = usersFile ? (JSON.parse(readFileSync(usersFile, 'utf8')) as TenantUserInput[]) : [];
  const fromEnv = emulatorSettings();
  const emulator = await startGraphEmulator({
    users,
    stateDir: optionalOption(args, 'state-dir'),
    port: numberOption(args, 'port'),
    token: optionalOption(args, 'token') ?? fromEnv.graphToken,
    faultRate: numberOption(args, 'fault-rate') ?? fromEnv.graphFaultRate,
    seed: optionalOption(args, 'seed') ?? fromEnv.seed,
    uploadSessionStatus: optionalOption(args, 'upload-session-status') === 'refuse' ? 'refuse' : undefined,
    // The behaviours a tenant may show instead of Graph's documented ones (README.md, "Behaviour switches").
    nonDraftAttachments: choice(args, 'non-draft-attachments', ['allow', 'refuse'] as const),
    messageFlagsAtCreate: choice(args, 'message-flags', ['honour', 'ignore'] as const),
    deliveryTime: choice(args, 'delivery-time', ['honour', 'ignore'] as const),
    extendedPropertyFilter: choice(args, 'extended-property-filter', ['supported', 'refuse'] as const),
    // Holds each mailbox request this long, so that a test can stop a client half-way through its work.
    latencyInMs: numberOption(args, 'latency-ms'),
    // A new message stays out of $filter answers this long (the importer's GRAPH_LOOKUP_SETTLE_SECONDS answers it).
    filterLagInMs: numberOption(args, 'filter-lag-ms'),
    // Throttling answers that outlast the importer's claim lease, for the race drill.
    faultRetryAfterInSeconds: numberOption(args, 'fault-retry-after-seconds'),
    log: args.options.has('log'),
  });
  serveUntilSignalled(
    { url: emulator.url, betaUrl: emulator.betaUrl, port: emulator.port, caCertPath: emulator.caCertPath, token: emulator.token },
    () => emulator.stop(),
  );
}

if (require.main === module) runEmulatorMain('graph emulator', main);
