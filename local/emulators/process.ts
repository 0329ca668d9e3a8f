/**
 * What an emulator needs to run as its own process: numeric options, one
 * JSON line saying where it listens, and a clean stop on SIGTERM or SIGINT.
 */
import { optionalOption, type ParsedArgs } from '../cli/args';

/** A numeric option, or undefined; anything that is not a number is refused by name. */
export function numberOption(args: ParsedArgs, name: string): number | undefined {
  const value = optionalOption(args, name);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new RangeError(`--${name} must be a number, not ${JSON.stringify(value)}`);
  return n;
}

/** Prints where the emulator listens as one JSON line, then stops it (and the process) when signalled. */
export function serveUntilSignalled(info: Record<string, unknown>, stop: () => Promise<void>): void {
  process.stdout.write(`${JSON.stringify({ ...info, pid: process.pid })}\n`);
  const onSignal = () => {
    void stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

/** Runs an emulator's main with the process's arguments: a failure is one line on stderr and exit 1. */
export function runEmulatorMain(name: string, main: (argv: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${name}: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
