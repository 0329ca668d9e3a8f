import type { Command } from '../main';

/** `o2-archiver serve`: under construction (placeholder so the CLI builds while the command is written). */
export const serveCommand: Command = async (_args, io) => {
  io.err('o2-archiver: serve is not built yet');
  return 1;
};
