import { createLedger } from '../shared/ledger';
import { itemKey } from '../shared/item';
import { testStorage, uniqueName } from './support/storage';

function freshLedger(now?: () => number) {
  const table = testStorage().table(uniqueName('ledger'));
  return createLedger(table, { now });
}

const mailbox = '0f6c1c1e-1111-4c7a-9a5e-000000000001';

describe('ledger', () => {
  it('lets exactly one of two concurrent claims win', async () => {
    const ledger = freshLedger();
    const key = itemKey('race-1');
    const results = await Promise.all([
      ledger.claim(mailbox, key, { runId: 'r1', owner: 'worker-a', leaseInMs: 60_000 }),
      ledger.claim(mailbox, key, { runId: 'r1', owner: 'worker-b', leaseInMs: 60_000 }),
    ]);
    const winners = results.filter((r) => r.outcome === 'claimed');
    const losers = results.filter((r) => r.outcome === 'held-by-other');
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    const row = await ledger.get(mailbox, key);
    expect(row?.state).toBe('claimed');
    expect(['worker-a', 'worker-b']).toContain(row?.claimedBy);
  });

  it('lets exactly one of many concurrent takeovers of an expired claim win', async () => {
    let clock = Date.parse('2024-05-01T10:00:00Z');
    const ledger = freshLedger(() => clock);
    const key = itemKey('race-2');
    expect((await ledger.claim(mailbox, key, { runId: 'r0', owner: 'crashed', leaseInMs: 1_000 })).outcome).toBe('claimed');
    clock += 5_000;
    const results = await Promise.all(
      ['a', 'b', 'c', 'd'].map((w) => ledger.claim(mailbox, key, { runId: 'r1', owner: w, leaseInMs: 60_000 })),
    );
    const winners = results.filter((r) => r.outcome === 'claimed');
    expect(winners).toHaveLength(1);
    const win = winners[0];
    expect(win.outcome === 'claimed' && win.takenOver?.claimedBy).toBe('crashed');
    expect(win.outcome === 'claimed' && win.takenOver?.runId).toBe('r0');
  });

  it('holds a live claim against another worker and hands an expired one over', async () => {
    let clock = Date.parse('2024-05-01T10:00:00Z');
    const ledger = freshLedger(() => clock);
    const key = itemKey('lease');
    await ledger.claim(mailbox, key, { runId: 'r1', owner: 'a', leaseInMs: 10_000 });
    clock += 9_000;
    const held = await ledger.claim(mailbox, key, { runId: 'r2', owner: 'b', leaseInMs: 10_000 });
    expect(held.outcome).toBe('held-by-other');
    clock += 2_000;
    const taken = await ledger.claim(mailbox, key, { runId: 'r2', owner: 'b', leaseInMs: 10_000 });
    expect(taken).toMatchObject({ outcome: 'claimed', takenOver: { runId: 'r1', claimedBy: 'a' } });
    expect((await ledger.get(mailbox, key))?.claimedBy).toBe('b');
  });

  it('reports a completed unit as already imported, with its state, to every later claim', async () => {
    const ledger = freshLedger();
    const key = itemKey('done');
    const claim = await ledger.claim(mailbox, key, { runId: 'r1', owner: 'a', leaseInMs: 60_000 });
    expect(claim.outcome).toBe('claimed');
    await ledger.complete(mailbox, key, {
      runId: 'r1',
      owner: 'a',
      state: 'partial',
      graphMessageId: 'AAMk-1',
      etag: claim.outcome === 'claimed' ? claim.etag : undefined,
    });
    const again = await ledger.claim(mailbox, key, { runId: 'r2', owner: 'b', leaseInMs: 60_000 });
    expect(again).toEqual({ outcome: 'already-imported', state: 'partial', runId: 'r1', graphMessageId: 'AAMk-1' });
  });

  it('frees a released claim for the next worker but ignores a release by someone else', async () => {
    const ledger = freshLedger();
    const key = itemKey('release');
    await ledger.claim(mailbox, key, { runId: 'r1', owner: 'a', leaseInMs: 60_000 });
    await ledger.release(mailbox, key, 'not-a');
    expect((await ledger.get(mailbox, key))?.claimedBy).toBe('a');
    await ledger.release(mailbox, key, 'a');
    expect(await ledger.get(mailbox, key)).toBeUndefined();
    const next = await ledger.claim(mailbox, key, { runId: 'r2', owner: 'b', leaseInMs: 60_000 });
    expect(next).toMatchObject({ outcome: 'claimed', takenOver: null });
  });

  it('keeps one mailbox apart from another', async () => {
    const ledger = freshLedger();
    const key = itemKey('two-mailboxes');
    const other = '0f6c1c1e-1111-4c7a-9a5e-000000000002';
    const a = await ledger.claim(mailbox, key, { runId: 'r1', owner: 'a', leaseInMs: 60_000 });
    const b = await ledger.claim(other, key, { runId: 'r1', owner: 'a', leaseInMs: 60_000 });
    expect([a.outcome, b.outcome]).toEqual(['claimed', 'claimed']);
  });
});
