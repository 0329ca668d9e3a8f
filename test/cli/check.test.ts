/**
 * `o2-archiver check` against the emulators: what works, what to fix, and the exit code.
 */
import { main } from '../../local/cli/main';
import { sampleTenant } from '../../local/sample';
import { captureIo, stackForCli } from '../support/cli';

describe('o2-archiver check', () => {
  const stack = stackForCli();

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
      process.env.TELEMESSAGE_PASSWORD = stack.env.stack.env.TELEMESSAGE_PASSWORD;
    }
  });

  it('says what to fix and exits 1 when Graph refuses the token', async () => {
    process.env.GRAPH_DEV_TOKEN = 'not-the-token';
    try {
      const { io, out } = captureIo();
      expect(await main(['check'], io)).toBe(1);
      expect(out.some((l) => l.startsWith('Graph: FAIL'))).toBe(true);
    } finally {
      process.env.GRAPH_DEV_TOKEN = stack.env.stack.env.GRAPH_DEV_TOKEN;
    }
  });

  it('check --canary proves the Graph behaviours in one mailbox, and only that, and exits 0', async () => {
    const { io, out } = captureIo();
    const mailbox = sampleTenant()[0].userPrincipalName;
    expect(await main(['check', '--canary', mailbox], io)).toBe(0);
    expect(out[0]).toContain(`canary in ${mailbox}`);
    expect(out.at(-1)).toMatch(/^canary: \d+ confirmed, 0 differ, 0 failed, 0 skipped$/);
    expect(out.some((l) => /TeleMessage/.test(l))).toBe(false);
  });

  it('check --canary with --mailbox is bad usage (exit 2)', async () => {
    const { io, err } = captureIo();
    expect(await main(['check', '--canary', 'a@b.c', '--mailbox', 'd@e.f'], io)).toBe(2);
    expect(err.join('\n')).toMatch(/--canary and --mailbox/);
  });
});
