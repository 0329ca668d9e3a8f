import type { Command } from '../main';

/** `o2-archiver mapping`: under construction (placeholder so the CLI builds while the command is written). */
export const mappingCommand: Command = async (_args, io) => {
  io.err('o2-archiver: mapping is not built yet');
  return 1;
};
