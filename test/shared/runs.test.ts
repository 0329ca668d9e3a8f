/**
 * RunStore over Azurite: rows of a batch by transaction, claims that tell a
 * redelivery from a duplicate, unit rows that carry their email and are read
 * by mailbox and item-key range, outcomes that never lose a success, and the
 * import chain's conditional moves.
 */
import { RunStore, type NewUnit, type RunUnitRow } from '../../shared/run/runs';
import { sampleEmail } from '../import/fakeGraph';
import { testStorage, uniqueName } from '../support/storage';

function freshStore(): RunStore {
  const storage = testStorage();
  return new RunStore({ runs: storage.table(uniqueName('r')), items: storage.table(uniqueName('i')), units: storage.table(uniqueName('u')) });
}

function row(mailboxId: string, itemKey: string): RunUnitRow {
  return { mailboxId, mailbox: `${mailboxId}@contoso.example`, itemKey, itemId: itemKey, type: 'sms', outcome: 'pending' };
}

function unit(mailboxId: string, itemKey: string, text = 'hello'): NewUnit {
  return { row: row(mailboxId, itemKey), email: { ...sampleEmail(itemKey), text }, convertedBatch: 'runs/run-1/converted/b.json' };
}

describe('RunStore units', () => {
  it('lists one mailbox of a run by row-key range', async () => {
    const runs = freshStore();
    await runs.ensure();
    await runs.addUnits('run-1', [unit('aa', 'k1'), unit('aa', 'k2'), unit('aab', 'k3'), unit('a', 'k4'), unit('ab', 'k5')]);
    await runs.addUnits('run-2', [unit('aa', 'k6')]);
    const rows = await runs.listUnitsOfMailbox('run-1', 'aa');
    expect(rows.map((r) => r.itemKey).sort()).toEqual(['k1', 'k2']);
    expect((await runs.listUnits('run-1')).length).toBe(5);
  });

  it('adds 250 units by transactions, each with its email (a long one by reference), and pages them by item key', async () => {
    const runs = freshStore();
    await runs.ensure();
    const keys = Array.from({ length: 250 }, (_, i) => `k${String(i).padStart(3, '0')}`);
    await runs.addUnits('run-1', [...keys.map((k) => unit('mb', k)), unit('mb', 'long', 'x'.repeat(40_000))]);
    // Adding again (a redelivered batch) leaves them as they are.
    await runs.addUnits('run-1', keys.slice(0, 120).map((k) => unit('mb', k)));
    const first = await runs.listStoredUnits('run-1', 'mb', { limit: 100, withEmail: true });
    expect(first.map((u) => u.row.itemKey)).toEqual(keys.slice(0, 100));
    expect(first[0].email?.itemId).toBe('k000');
    const next = await runs.listStoredUnits('run-1', 'mb', { after: first.at(-1)!.row.itemKey, limit: 1000, withEmail: true });
    expect(next.map((u) => u.row.itemKey)).toEqual([...keys.slice(100), 'long']);
    const long = next.at(-1)!;
    expect(long.email).toBeUndefined();
    expect(long.emailIn).toBe('runs/run-1/converted/b.json');
  });

  it('sets outcomes by transaction, conditional on each row: a failure never overwrites a success, a success replaces a failure', async () => {
    const runs = freshStore();
    await runs.ensure();
    await runs.addUnits('run-1', ['k1', 'k2', 'k3'].map((k) => unit('mb', k)));
    const stored = await runs.listStoredUnits('run-1', 'mb');
    await runs.setUnitOutcomes('run-1', [
      { unit: { ...stored[0].row, outcome: 'imported' }, known: stored[0] },
      { unit: { ...stored[1].row, outcome: 'failed', reason: 'graph-error', detail: 'status 503' }, known: stored[1] },
    ]);
    // A late writer with the old ETags: its failure of k1 must not stand, its success of k2 must.
    await runs.setUnitOutcomes('run-1', [
      { unit: { ...stored[0].row, outcome: 'failed', reason: 'poisoned', detail: 'late' }, known: stored[0] },
      { unit: { ...stored[1].row, outcome: 'duplicate' }, known: stored[1] },
    ]);
    const after = new Map((await runs.listUnits('run-1')).map((u) => [u.itemKey, u]));
    expect(after.get('k1')).toMatchObject({ outcome: 'imported' });
    expect(after.get('k1')!.reason).toBeUndefined();
    expect(after.get('k2')).toMatchObject({ outcome: 'duplicate' });
    expect(after.get('k3')).toMatchObject({ outcome: 'pending' });
    expect((await runs.listStoredUnits('run-1', 'mb', { pendingOnly: true })).map((u) => u.row.itemKey)).toEqual(['k3']);
  });
});

describe('RunStore items', () => {
  it('claims a page of items by transaction: new, the same message again, or a duplicate of another message', async () => {
    const runs = freshStore();
    await runs.ensure();
    const items = Array.from({ length: 150 }, (_, i) => ({ itemKey: `i${i}`, itemId: `id-${i}`, type: 'sms' as const }));
    const first = await runs.claimItems('run-1', items, 'message-a');
    expect([...first.values()].every((c) => c === 'new')).toBe(true);
    const again = await runs.claimItems('run-1', items.slice(0, 3), 'message-a');
    expect([...again.values()]).toEqual(['same', 'same', 'same']);
    const other = await runs.claimItems('run-1', [items[0], { itemKey: 'fresh', itemId: 'f', type: 'sms' }], 'message-b');
    expect(other.get('i0')).toBe('duplicate');
    expect(other.get('fresh')).toBe('new');
    await runs.setItemFields('run-1', [{ itemKey: 'i1', outcome: 'unmapped', reason: 'unmapped', unmappedNumbers: ['+447700900123'] }]);
    expect(await runs.getItem('run-1', 'i1')).toMatchObject({ itemId: 'id-1', outcome: 'unmapped', unmappedNumbers: ['+447700900123'], claimedBy: 'message-a' });
    expect(await runs.setItemOutcomeIfNone('run-1', { itemKey: 'i1', itemId: 'id-1', type: 'sms', outcome: 'itemFailed', reason: 'poisoned' })).toBe(false);
    expect((await runs.listItems('run-1')).length).toBe(151);
  });
});

describe('RunStore import chains', () => {
  it('starts a mailbox chain once and moves it only from the step it is at, keeping the message it promised', async () => {
    const runs = freshStore();
    await runs.ensure();
    await runs.noteMailboxes('run-1', [{ objectId: 'mb-1', userPrincipalName: 'a@contoso.example' }, { objectId: 'mb-1', userPrincipalName: 'a@contoso.example' }]);
    expect(await runs.listPlannedMailboxes('run-1')).toEqual([{ mailboxId: 'mb-1', mailbox: 'a@contoso.example', started: false, moved: false }]);
    expect(await runs.startChain('run-1', 'mb-1')).toBe(true);
    expect(await runs.startChain('run-1', 'mb-1')).toBe(false);
    expect(await runs.advanceChain('run-1', 'mb-1', 0, 1, { step: 1 })).toBe(true);
    // A redelivered copy of step 0 finds the chain moved on: it does not move it again.
    expect(await runs.advanceChain('run-1', 'mb-1', 0, 1, { step: 1 })).toBe(false);
    expect(await runs.chain('run-1', 'mb-1')).toEqual({ step: 1, from: 0, next: { step: 1 } });
    expect((await runs.listPlannedMailboxes('run-1'))[0]).toMatchObject({ started: true, moved: true });
  });
});
