/**
 * A whole archive run on the local stack: TeleMessage emulator -> staging ->
 * conversion -> mapping -> Graph emulator, driven by the real orchestrator
 * through durable-functions' replay.
 */
import { checkBalance } from '../../shared/run/report';
import { startTestStack, SAMPLE_WINDOW, type TestStack } from '../support/stack';

describe('an archive run end to end', () => {
  let env: TestStack;

  beforeAll(async () => {
    env = await startTestStack();
  });

  afterAll(async () => {
    await env?.stack.stop();
  });

  it('archives the window once, and a second run of the same window finds only duplicates', async () => {
    const first = await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW });
    const one = await env.runner.waitForRun(first);
    expect(one.instance.status).toBe('completed');
    const report = one.report!;
    expect(checkBalance(report.counts)).toEqual([]);
    expect(report.status).toBe('completed');
    expect(report.counts.sourceItems).toBe(env.stack.sample.expected.records);
    expect(report.counts.imported).toBeGreaterThan(0);
    expect(report.counts.unmapped).toBe(env.stack.sample.expected.unmapped.length);
    expect(report.counts.unmapped).toBeGreaterThan(0);
    expect(report.counts.failed).toBe(0);
    expect(report.counts.importUnits).toBe(report.counts.imported);
    // Every unmapped item is in failures with its reason; nothing else but those.
    expect(report.failures.filter((f) => f.reason === 'unmapped').map((f) => f.itemId).sort()).toEqual([...env.stack.sample.expected.unmapped].sort());
    expect(report.unmappedNumbers.length).toBeGreaterThan(0);

    const second = await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW });
    expect(second.outcome).toBe('restarted');
    expect(second.runId).not.toBe(first.runId);
    const two = await env.runner.waitForRun(second);
    const again = two.report!;
    expect(checkBalance(again.counts)).toEqual([]);
    expect(again.counts.sourceItems).toBe(report.counts.sourceItems);
    expect(again.counts.imported).toBe(0);
    expect(again.counts.duplicates).toBe(report.counts.imported);
    expect(again.status).toBe('completed');
  });
});
