/** Running the command line in-process: captured output, and the environment pointed at a test stack. */
import type { CommandIo } from '../../local/cli/main';
import { startTestStack, type TestStack } from './stack';

/** An io that keeps every line written to stdout and stderr. */
export function captureIo(): { io: CommandIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, out, err };
}

/** Points process.env at the stack (the CLI reads its settings there); returns a function that restores it. */
export function useStackEnvironment(env: TestStack): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, env.stack.env, { RETRY_TIME_SCALE: '0.01' });
  return () => {
    process.env = saved;
  };
}

/**
 * Starts a test stack before the enclosing describe's tests and points the
 * environment at it; stops and restores after. Read `.env` inside tests.
 */
export function stackForCli(): { readonly env: TestStack } {
  const holder: { env?: TestStack } = {};
  let restore: () => void = () => undefined;
  beforeAll(async () => {
    holder.env = await startTestStack();
    restore = useStackEnvironment(holder.env);
  });
  afterAll(async () => {
    restore();
    await holder.env?.stack.stop();
  });
  return {
    get env(): TestStack {
      if (!holder.env) throw new Error('the test stack is not started yet');
      return holder.env;
    },
  };
}
