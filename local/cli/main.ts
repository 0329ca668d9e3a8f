/**
 * `o2-archiver`: the command line (contracts/cli.md). Each command lives in
 * its own module under local/cli/commands and returns its exit code. Errors
 * are one line on stderr; a stack trace only with --debug.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { config as loadDotenv } from 'dotenv';
import { parseArgs, usage } from './args';
import type { Command, CommandIo } from './command';

export type { Command, CommandIo } from './command';
import { isArchiverError, describeError } from '../../shared/model/errors';

/** The command modules, loaded on demand so that one command's dependencies never slow another. */
const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run')).runCommand,
  check: async () => (await import('./commands/check')).checkCommand,
  convert: async () => (await import('./commands/convert')).convertCommand,
  mapping: async () => (await import('./commands/mapping')).mappingCommand,
  runs: async () => (await import('./commands/runs')).runsCommand,
  serve: async () => (await import('./commands/serve')).serveCommand,
};

const HELP = `o2-archiver <command> [options]

  run --from <ISO> --to <ISO> [--report <file>]   one archive run of exactly that window
  check [--mailbox <address>]                     tries TeleMessage and Graph with the settings
  check --canary <mailbox>                        proves on the tenant each Graph behaviour the import relies on
  convert <item.json> --out <file.eml>            converts one item file to its email
  mapping validate <file.csv> [--json]            checks a user-mapping file
  mapping upload <file.csv> | mapping show        replaces / prints the mapping in force
  runs list | runs show <id>                      recent runs / one run's report
  serve [--port N]                                the HTTP API and dashboard on the local stack

Settings come from the environment or a .env file (see docs/settings.md).`;

/** Runs one command line and resolves to its exit code. */
export async function main(argv: readonly string[], io: CommandIo = defaultIo): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const envFile = path.resolve('.env');
    if (existsSync(envFile)) loadDotenv({ path: envFile, quiet: true });
    const [name, ...rest] = argv;
    if (!name || name === '--help' || name === 'help') {
      io.out(HELP);
      return name ? 0 : 2;
    }
    const load = commands[name];
    if (!load) throw usage(`unknown command '${name}' (try --help)`);
    const command = await load();
    return await command(parseArgs(rest), io);
  } catch (e) {
    io.err(`o2-archiver: ${describeError(e)}`);
    if (debug && e instanceof Error && e.stack) io.err(e.stack);
    if (isArchiverError(e) && ['BAD_USAGE', 'BAD_WINDOW', 'SETTING_MISSING', 'SETTING_INVALID'].includes(e.code)) return 2;
    return 1;
  }
}

const defaultIo: CommandIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  errIsTTY: process.stderr.isTTY === true,
};

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
