/**
 * A 30% transient fault rate on both services is a non-event: the run
 * imports every unit once, none failed, none partial. Half of Graph's faults
 * on writes strike after the write took effect, so this is where lost
 * answers (message create, attachment POST, upload-session ranges) must be
 * found out rather than sent again. The big items are in, so their
 * attachments go by upload session; whether the service answers a status GET
 * on an upload URL is not documented for Outlook, so both answers are run.
 */
import { checkBalance } from '../../shared/run/report';
import { emlFiles, readMailboxesThroughGraph, startTestStack, SAMPLE_WINDOW, type TestStack } from '../support/stack';

describe.each(['answer', 'refuse'] as const)('a run at a 30%% fault rate (upload session status GET: %s)', (statusMode) => {
  let env: TestStack;

  beforeAll(async () => {
    env = await startTestStack({
      // startTestStack's env replaces its defaults, so they are repeated here.
      env: { RETRY_TIME_SCALE: '0.01', QUEUE_VISIBILITY_TIMEOUT_SECONDS: '30', GRAPH_EMULATOR_FAULT_RATE: '0.3', TM_EMULATOR_FAULT_RATE: '0.3' },
      sample: { generatedItems: 24, bigItems: true },
    });
    env.stack.graph.setOption('uploadSessionStatus', statusMode);
  });

  afterAll(async () => {
    await env?.stack.stop();
  });

  it('imports every unit once, with failed = 0 and partial = 0', async () => {
    // Besides the seeded faults: the first upload ranges land but their answers are lost, for sure.
    env.stack.graph.failNext({ method: 'PUT', pathPattern: '/upload/', status: 504, code: 'GatewayTimeout', afterExecution: true, times: 3 });
    const { report } = await env.runner.waitForRun(await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW }));
    expect(report).toBeDefined();
    expect(checkBalance(report!.counts)).toEqual([]);
    expect(report!.failures.filter((f) => !['unmapped', 'too-large'].includes(f.reason))).toEqual([]);
    expect(report!.status).toBe('completed');
    expect(report!.counts).toMatchObject({ failed: 0, partial: 0, itemFailed: 0, duplicates: 0 });
    expect(report!.counts.imported).toBe(report!.counts.importUnits);
    expect(report!.counts.sourceItems).toBe(env.stack.sample.expected.records);
    expect(env.stack.graph.stats().faults).toMatchObject({ 'rule:504': 3 });

    // Read back as an admin would, without the injected faults.
    env.stack.graph.setOption('faultRate', 0);
    const messages = await readMailboxesThroughGraph(
      { url: env.stack.graph.url, token: env.stack.graph.token, caCertPem: env.stack.graph.caCertPem },
      { attachments: true },
    );
    expect(messages).toHaveLength(report!.counts.imported);
    const units = new Set(messages.map((m) => `${m.mailbox}|${m.itemId}`));
    expect(units.size).toBe(messages.length);
    // Every attachment arrived once with its bytes, the big items' (by upload session) included.
    const records = new Map((env.stack.sample.records as { id: string; media?: { sha256: string }[]; call?: { recording?: { sha256: string } | null } }[]).map((r) => [r.id, r]));
    for (const m of messages) {
      const r = records.get(m.itemId!)!;
      const expected = [...(r.media ?? []), ...(r.call?.recording ? [r.call.recording] : [])].map((x) => x.sha256.toLowerCase()).sort();
      expect({ item: m.itemId, attachments: m.attachments.map((a) => a.sha256).sort() }).toEqual({ item: m.itemId, attachments: expected });
    }
    const big = env.stack.sample.expected.bigItems!;
    for (const id of [big.underLimitId, big.atLimitId]) expect(messages.filter((m) => m.itemId === id && m.attachments.length > 0).length).toBeGreaterThan(0);
    expect(emlFiles(env.stateDir).filter((f) => / \(\d+\)\.eml$/.test(f))).toEqual([]);
  });
});
