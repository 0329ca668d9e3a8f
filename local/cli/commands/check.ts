import type { Command } from '../main';

/** `o2-archiver check`: under construction (placeholder so the CLI builds while the command is written). */
export const checkCommand: Command = async (_args, io) => {
  io.err('o2-archiver: check is not built yet');
  return 1;
};
