/**
 * `o2-archiver check` against the emulators: what works, what to fix, and the exit code.
 */
import { main } from '../../local/cli/main';
import { captureIo, useStackEnvironment } from '../support/cli';
import { startTestStack, type TestStack } from '../support/stack';

describe('o2-archiver check', () => {
  let env: TestStack;
  let restore: () => void = () => undefined;

  beforeAll(async () => {
    env = await startTestStack();
    restore = useStackEnvironment(env);
  });

  afterAll(async () => {
    restore();
    await env?.stack.stop();
  });

  it('logs in to both services, reads from each, and exits 0', async () => {
    const { io, out } = captureIo();
    expect(await main(['check'], io)).toBe(0);
    expect(out.find((l) => l.startsWith('OK   TeleMessage'))).toBeDefined();
    expect(out.some((l) => /^Graph: OK +read user/.test(l))).toBe(true);
    expect(out.some((l) => /^Graph: OK +list mail folders/.test(l))).toBe(true);
  });

  it('says what to fix and exits 1 when TeleMessage refuses the password', async () => {
    process.env.TELEMESSAGE_PASSWORD = 'wrong';
    try {
      const { io, out } = captureIo();
      expect(await main(['check'], io)).toBe(1);
      const line = out.find((l) => l.startsWith('FAIL TeleMessage'))!;
      expect(line).toContain('TELEMESSAGE_PASSWORD');
      expect(out.some((l) => /^Graph: OK/.test(l))).toBe(true);
    } finally {
      process.env.TELEMESSAGE_PASSWORD = env.stack.env.TELEMESSAGE_PASSWORD;
    }
  });

  it('says what to fix and exits 1 when Graph refuses the token', async () => {
    process.env.GRAPH_DEV_TOKEN = 'not-the-token';
    try {
      const { io, out } = captureIo();
      expect(await main(['check'], io)).toBe(1);
      expect(out.some((l) => l.startsWith('Graph: FAIL'))).toBe(true);
    } finally {
      process.env.GRAPH_DEV_TOKEN = env.stack.env.GRAPH_DEV_TOKEN;
    }
  });
});
