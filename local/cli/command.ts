/** What a command of the command line is: parsed arguments and two output lines in, an exit code out. */
import type { ParsedArgs } from './args';

export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
  /** True when stderr is a terminal: progress is then redrawn in place instead of printed line by line. */
  errIsTTY?: boolean;
}

export type Command = (args: ParsedArgs, io: CommandIo) => Promise<number>;
