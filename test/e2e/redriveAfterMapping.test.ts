/**
 * Issue 5's loop closed end to end: an item nobody's mapping covered is
 * reported unmapped with its numbers, stays staged, and a re-drive after a
 * mapping upload that covers it imports it once (and only once).
 */
import { ContainerNames } from '../../shared/platform/names';
import { createMappingStore } from '../../shared/stages/mapping';
import { checkBalance } from '../../shared/run/report';
import { startTestStack, SAMPLE_WINDOW, type TestStack } from '../support/stack';

const UNMAPPED_ITEM = 'tm-sms-0005'; // fixtures/items/sms-unmapped.json: +447700900555 to +447700900999

describe('re-drive after a mapping upload', () => {
  let env: TestStack;

  beforeAll(async () => {
    env = await startTestStack();
  });

  afterAll(async () => {
    await env?.stack.stop();
  });

  it('imports the formerly unmapped item once', async () => {
    const first = await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW });
    const { report } = await env.runner.waitForRun(first);
    const unmapped = report!.failures.find((f) => f.itemId === UNMAPPED_ITEM);
    expect(unmapped).toMatchObject({ reason: 'unmapped', type: 'sms', mailbox: null });
    expect(report!.unmappedNumbers.map((n) => n.phone)).toEqual(expect.arrayContaining(['+447700900555', '+447700900999']));

    // The admin maps the number to Carol (known only through the mapping file) and re-drives.
    const mapping = createMappingStore(env.runner.infra.storage.container(ContainerNames.mapping), { defaultRegion: 'GB' });
    const uploaded = await mapping.replace(
      'External User ID,Microsoft 365 User Mailbox\n447700900101,alice.smith@contoso.example\n447700900103,carol.white@contoso.example\n07700 900999,Carol.White@contoso.example\n',
      { who: 'test' },
    );
    expect(uploaded.ok).toBe(true);

    const redrive = await env.runner.startRun({ trigger: 'redrive', window: report!.window, redriveOf: report!.runId });
    const { report: redriven } = await env.runner.waitForRun(redrive);
    expect(redriven!.trigger).toBe('redrive');
    expect(checkBalance(redriven!.counts)).toEqual([]);
    expect(redriven!.counts.sourceItems).toBe(report!.counts.unmapped + report!.counts.itemFailed);
    expect(redriven!.failures.find((f) => f.itemId === UNMAPPED_ITEM)).toBeUndefined();
    expect(redriven!.counts.imported).toBe(1);

    const carol = 'carol.white@contoso.example';
    const inCarols = env.stack.graph.store.listMessages(carol, 'O2 SMS and Voice Network Archiver').filter((m) => env.stack.graph.store.itemIdOf(m) === UNMAPPED_ITEM);
    expect(inCarols).toHaveLength(1);

    // A second re-drive of the first run finds it already there.
    const again = await env.runner.startRun({ trigger: 'redrive', window: report!.window, redriveOf: report!.runId });
    const { report: twice } = await env.runner.waitForRun(again);
    expect(twice!.counts.imported).toBe(0);
    expect(twice!.counts.duplicates).toBe(1);
    expect(env.stack.graph.store.listMessages(carol, 'O2 SMS and Voice Network Archiver').filter((m) => env.stack.graph.store.itemIdOf(m) === UNMAPPED_ITEM)).toHaveLength(1);
  });
});
