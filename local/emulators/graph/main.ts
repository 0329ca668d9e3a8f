/**
 * Runs the Graph emulator as its own process (for the kill/resume test and
 * for `npm run emulators`-style setups):
 *
 *   node dist/local/emulators/graph/main.js --users tenant.json [--state-dir .local]
 *        [--port 0] [--token dev-token] [--fault-rate 0] [--seed 1] [--upload-session-status answer|refuse]
 *        [--latency-ms 0]
 *
 * `tenant.json` is an array of TenantUserInput. When listening it prints one
 * JSON line `{"url","betaUrl","port","caCertPath","token","pid"}` on stdout;
 * SIGTERM or SIGINT stops it. Fault rate and seed default to
 * GRAPH_EMULATOR_FAULT_RATE and EMULATOR_SEED.
 */
import { readFileSync } from 'node:fs';
import { startGraphEmulator } from './server';
import type { TenantUserInput } from './types';

function option(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3);
  }
  return undefined;
}

/** Starts the emulator from command-line options and keeps it running until signalled. */
export async function main(args: string[]): Promise<void> {
  const usersFile = option(args, 'users');
  const users = usersFile ? (JSON.parse(readFileSync(usersFile, 'utf8')) as TenantUserInput[]) : [];
  const faultRate = option(args, 'fault-rate');
  const emulator = await startGraphEmulator({
    users,
    stateDir: option(args, 'state-dir'),
    port: option(args, 'port') ? Number(option(args, 'port')) : undefined,
    token: option(args, 'token'),
    faultRate: faultRate !== undefined ? Number(faultRate) : undefined,
    seed: option(args, 'seed'),
    uploadSessionStatus: option(args, 'upload-session-status') === 'refuse' ? 'refuse' : undefined,
    // Holds each mailbox request this long, so that a test can stop a client half-way through its work.
    latencyInMs: option(args, 'latency-ms') ? Number(option(args, 'latency-ms')) : undefined,
    log: args.includes('--log'),
  });
  process.stdout.write(`${JSON.stringify({ url: emulator.url, betaUrl: emulator.betaUrl, port: emulator.port, caCertPath: emulator.caCertPath, token: emulator.token, pid: process.pid })}\n`);
  const stop = () => {
    void emulator.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`graph emulator: ${(e as Error)?.message ?? String(e)}\n`);
    process.exit(1);
  });
}
