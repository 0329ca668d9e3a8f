import { createLedger } from '../shared/stages/import/ledger';
import { itemKey } from '../shared/model/item';
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
      etag: claim.outcome === 'claimed' ? claim.etag : '',
    });
    const again = await ledger.claim(mailbox, key, { runId: 'r2', owner: 'b', leaseInMs: 60_000 });
    expect(again).toEqual({ outcome: 'already-imported', state: 'partial', runId: 'r1', graphMessageId: 'AAMk-1' });
  });

  it('frees a released claim for the next worker at once, remembering that a copy may exist, and ignores a release by a worker that lost the claim', async () => {
    let clock = Date.parse('2024-05-01T10:00:00Z');
    const ledger = freshLedger(() => clock);
    const key = itemKey('release');
    const stale = await ledger.claim(mailbox, key, { runId: 'r0', owner: 'stale', leaseInMs: 1_000 });
    clock += 2_000;
    const claim = await ledger.claim(mailbox, key, { runId: 'r1', owner: 'a', leaseInMs: 60_000 });
    // The worker whose claim lapsed gives up what it no longer holds: nothing changes.
    await ledger.release(mailbox, key, { owner: 'stale', etag: stale.outcome === 'claimed' ? stale.etag : '', copyMayExist: false });
    expect(await ledger.get(mailbox, key)).toMatchObject({ claimedBy: 'a', copyMayExist: true });
    await ledger.release(mailbox, key, { owner: 'a', etag: claim.outcome === 'claimed' ? claim.etag : '', copyMayExist: true });
    const next = await ledger.claim(mailbox, key, { runId: 'r2', owner: 'b', leaseInMs: 60_000 });
    // The row stays: the next worker takes it over at once and knows it must look in the mailbox first.
    expect(next).toMatchObject({ outcome: 'claimed', takenOver: { runId: 'r1', claimedBy: 'a', copyMayExist: true, orphans: [] } });
  });

  it('renews a held claim, and tells a worker whose claim was taken over that it lost the unit', async () => {
    let clock = Date.parse('2024-05-01T10:00:00Z');
    const ledger = freshLedger(() => clock);
    const key = itemKey('renew');
    const a = await ledger.claim(mailbox, key, { runId: 'r1', owner: 'a', leaseInMs: 10_000 });
    if (a.outcome !== 'claimed') throw new Error('not claimed');
    clock += 8_000;
    const renewed = await ledger.renew(mailbox, key, { owner: 'a', etag: a.etag, leaseInMs: 10_000 });
    expect(renewed.outcome).toBe('held');
    clock += 8_000; // 16 s after the claim, 8 s after the renewal: still held
    expect((await ledger.claim(mailbox, key, { runId: 'r2', owner: 'b', leaseInMs: 10_000 })).outcome).toBe('held-by-other');
    clock += 3_000;
    const b = await ledger.claim(mailbox, key, { runId: 'r2', owner: 'b', leaseInMs: 10_000 });
    expect(b).toMatchObject({ outcome: 'claimed', takenOver: { claimedBy: 'a' } });
    const lost = await ledger.renew(mailbox, key, { owner: 'a', etag: renewed.outcome === 'held' ? renewed.etag : '', leaseInMs: 10_000 });
    expect(lost).toMatchObject({ outcome: 'lost', entry: { claimedBy: 'b', state: 'claimed' } });
    // Nor may the loser record the unit.
    const completed = await ledger.complete(mailbox, key, { owner: 'a', etag: a.etag, runId: 'r1', state: 'imported', graphMessageId: 'AAMk-a' });
    expect(completed.outcome).toBe('lost');
    expect((await ledger.get(mailbox, key))?.state).toBe('claimed');
  });

  it('makes the holder remove a copy a loser handed over before it completes, and tells a loser of a final unit to remove its own', async () => {
    const ledger = freshLedger();
    const key = itemKey('hand-over');
    const b = await ledger.claim(mailbox, key, { runId: 'r2', owner: 'b', leaseInMs: 60_000 });
    if (b.outcome !== 'claimed') throw new Error('not claimed');
    expect(await ledger.handOver(mailbox, key, 'AAMk-a')).toEqual({ outcome: 'handed-over' });
    const first = await ledger.complete(mailbox, key, { owner: 'b', etag: b.etag, runId: 'r2', state: 'imported', graphMessageId: 'AAMk-b' });
    expect(first).toMatchObject({ outcome: 'changed', orphans: ['AAMk-a'] });
    const etag = first.outcome === 'changed' ? first.etag : '';
    expect(await ledger.complete(mailbox, key, { owner: 'b', etag, runId: 'r2', state: 'imported', graphMessageId: 'AAMk-b' })).toEqual({ outcome: 'completed' });
    expect(await ledger.get(mailbox, key)).toMatchObject({ state: 'imported', graphMessageId: 'AAMk-b', orphans: [], copyMayExist: false });
    const late = await ledger.handOver(mailbox, key, 'AAMk-c');
    expect(late).toMatchObject({ outcome: 'final', entry: { graphMessageId: 'AAMk-b' } });
  });

  it('counts a complete whose answer was lost as done when it is called again', async () => {
    const ledger = freshLedger();
    const key = itemKey('complete-twice');
    const a = await ledger.claim(mailbox, key, { runId: 'r1', owner: 'a', leaseInMs: 60_000 });
    if (a.outcome !== 'claimed') throw new Error('not claimed');
    const options = { owner: 'a', etag: a.etag, runId: 'r1', state: 'imported' as const, graphMessageId: 'AAMk-a' };
    expect(await ledger.complete(mailbox, key, options)).toEqual({ outcome: 'completed' });
    expect(await ledger.complete(mailbox, key, options)).toEqual({ outcome: 'completed' });
  });

  it('keeps one mailbox apart from another', async () => {
    const ledger = freshLedger();
    const key = itemKey('two-mailboxes');
    const other = '0f6c1c1e-1111-4c7a-9a5e-000000000002';
    const a = await ledger.claim(mailbox, key, { runId: 'r1', owner: 'a', leaseInMs: 60_000 });
    const b = await ledger.claim(other, key, { runId: 'r1', owner: 'a', leaseInMs: 60_000 });
    expect([a.outcome, b.outcome]).toEqual(['claimed', 'claimed']);
  });

  it('claims new units together, and one that has a row on its own, with the same answers as one by one', async () => {
    let clock = Date.parse('2024-05-01T10:00:00Z');
    const ledger = freshLedger(() => clock);
    const keys = Array.from({ length: 120 }, (_, i) => itemKey(`many-${i}`));
    await ledger.claim(mailbox, keys[5], { runId: 'r0', owner: 'other', leaseInMs: 60_000 });
    const claims = await ledger.claimMany(mailbox, keys, { runId: 'r1', owner: 'a', leaseInMs: 60_000 });
    expect(claims.size).toBe(120);
    expect(claims.get(keys[5])!.result).toMatchObject({ outcome: 'held-by-other', claimedBy: 'other' });
    const fresh = [...claims.values()].filter((c) => c.result.outcome === 'claimed');
    expect(fresh).toHaveLength(119);
    // Each claim's ETag is its row's: renewing under it works.
    const claimed = claims.get(keys[7])!.result;
    expect(await ledger.renew(mailbox, keys[7], { owner: 'a', etag: claimed.outcome === 'claimed' ? claimed.etag : '', leaseInMs: 60_000 })).toMatchObject({ outcome: 'held' });
    clock += 1;
  });

  it('records held units together; a transaction with a row that moved records none of them', async () => {
    const ledger = freshLedger();
    const keys = [itemKey('rec-1'), itemKey('rec-2'), itemKey('rec-3')];
    const claims = await ledger.claimMany(mailbox, keys, { runId: 'r1', owner: 'a', leaseInMs: 60_000 });
    const entry = (k: string) => {
      const c = claims.get(k)!.result;
      return { itemKey: k, owner: 'a', etag: c.outcome === 'claimed' ? c.etag : '', runId: 'r1', state: 'imported' as const, graphMessageId: `m-${k.slice(0, 6)}` };
    };
    // A loser handed a copy over to the third: its ETag moved, so the transaction takes none.
    await ledger.handOver(mailbox, keys[2], 'AAMk-orphan');
    expect([...(await ledger.completeMany(mailbox, keys.map(entry)))]).toEqual([]);
    expect((await ledger.get(mailbox, keys[0]))?.state).toBe('claimed');
    const done = await ledger.completeMany(mailbox, keys.slice(0, 2).map(entry));
    expect([...done].sort()).toEqual(keys.slice(0, 2).sort());
    expect(await ledger.get(mailbox, keys[1])).toMatchObject({ state: 'imported', graphMessageId: entry(keys[1]).graphMessageId, copyMayExist: false });
  });
});
