import type { Command } from '../main';

/** `o2-archiver run`: under construction (placeholder so the CLI builds while the command is written). */
export const runCommand: Command = async (_args, io) => {
  io.err('o2-archiver: run is not built yet');
  return 1;
};
