import type { Command } from '../main';

/** `o2-archiver convert`: under construction (placeholder so the CLI builds while the command is written). */
export const convertCommand: Command = async (_args, io) => {
  io.err('o2-archiver: convert is not built yet');
  return 1;
};
