import type { Command } from '../main';

/** `o2-archiver runs`: under construction (placeholder so the CLI builds while the command is written). */
export const runsCommand: Command = async (_args, io) => {
  io.err('o2-archiver: runs is not built yet');
  return 1;
};
