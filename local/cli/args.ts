/**
 * The command line's argument parser: `--name value` and `--name=value`,
 * positionals in order, and the instant rule of cli.md (a bare date is
 * midnight UTC).
 */
import { ArchiverError } from '../../shared/model/errors';
import { parseInstant as parseIsoInstant } from '../../shared/run/window';

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string | true>;
}

/** Splits argv into positionals and options; flags named in `flags` take no value. */
export function parseArgs(argv: readonly string[], flags: readonly string[] = ['json', 'debug', 'help']): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!name) throw usage(`'${arg}' is not an option`);
    if (eq >= 0) options.set(name, arg.slice(eq + 1));
    else if (flags.includes(name)) options.set(name, true);
    else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw usage(`--${name} needs a value`);
      options.set(name, value);
      i++;
    }
  }
  return { positionals, options };
}

/** The value of option `name`, or an error saying it is missing. */
export function requireOption(args: ParsedArgs, name: string): string {
  const value = args.options.get(name);
  if (typeof value !== 'string' || value === '') throw usage(`--${name} is required`);
  return value;
}

/** An optional option's string value. */
export function optionalOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.options.get(name);
  if (value === true) throw usage(`--${name} needs a value`);
  return value;
}

/** Throws unless every option given is one of `known`. */
export function allowOptions(args: ParsedArgs, known: readonly string[]): void {
  for (const name of args.options.keys()) {
    if (!known.includes(name) && name !== 'debug') throw usage(`unknown option --${name}`);
  }
}

/** An ISO 8601 instant (Z or an offset) or a bare date (midnight UTC), as ISO UTC; a date that does not exist is bad usage. */
export function parseInstant(value: string, optionName: string): string {
  const parsed = parseIsoInstant(value);
  if (!parsed.ok) throw usage(`--${optionName} '${value}' ${parsed.reason}`);
  return parsed.iso;
}

/** A bad-usage error (exit 2). */
export function usage(message: string): ArchiverError {
  return new ArchiverError('BAD_USAGE', message);
}

/** Runs the subcommand named by the first positional, or throws a usage error listing them. */
export async function dispatchSubcommand<Io>(
  command: string,
  subcommands: Record<string, (args: ParsedArgs, rest: string[], io: Io) => Promise<number>>,
  synopsis: string,
  args: ParsedArgs,
  io: Io,
): Promise<number> {
  const [sub, ...rest] = args.positionals;
  if (sub === undefined) throw usage(`${command} needs a subcommand: ${synopsis}`);
  const run = Object.hasOwn(subcommands, sub) ? subcommands[sub] : undefined;
  if (!run) throw usage(`unknown ${command} subcommand '${sub}': use ${synopsis}`);
  return run(args, rest, io);
}
