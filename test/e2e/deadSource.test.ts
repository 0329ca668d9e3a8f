/**
 * A source that never answers fails the run in bounded time with a reason
 * naming the slices it could not read, instead of hanging.
 */
import { checkBalance } from '../../shared/run/report';
import { startTestStack, type TestStack } from '../support/stack';

const WINDOW = { from: '2026-11-25T09:00:00.000Z', to: '2026-11-25T12:00:00.000Z' };

describe('a TeleMessage archive that never answers', () => {
  let env: TestStack;

  beforeAll(async () => {
    env = await startTestStack({ env: { SOURCE_REQUEST_TIMEOUT_SECONDS: '1', RETRY_TIME_SCALE: '0.001' } });
  });

  afterAll(async () => {
    await env?.stack.stop();
  });

  it('fails the run with every unread slice named, and still writes a balanced report', async () => {
    env.stack.telemessage.setNeverAnswer(true);
    try {
      const started = await env.runner.startRun({ trigger: 'cli', window: WINDOW });
      const { instance, report } = await env.runner.waitForRun(started);
      expect(instance.status).toBe('completed');
      expect(report!.status).toBe('failed');
      for (const hour of ['09', '10', '11']) {
        expect(report!.error).toContain(`slice 2026-11-25T${hour}:00:00.000Z .. `);
      }
      expect(report!.error).toMatch(/could not be read/);
      expect(report!.counts.sourceItems).toBe(0);
      expect(checkBalance(report!.counts)).toEqual([]);
    } finally {
      env.stack.telemessage.setNeverAnswer(false);
    }
  });
});
