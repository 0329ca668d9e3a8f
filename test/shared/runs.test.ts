/**
 * RunStore's per-mailbox unit query returns exactly that mailbox's rows,
 * not a neighbour whose id shares a prefix.
 */
import { RunStore, type RunUnitRow } from '../../shared/runs';
import { testStorage, uniqueName } from '../support/storage';

function unit(mailboxId: string, itemKey: string): RunUnitRow {
  return { mailboxId, mailbox: `${mailboxId}@contoso.example`, itemKey, itemId: itemKey, type: 'sms', outcome: 'pending' };
}

describe('RunStore units', () => {
  it('lists one mailbox of a run by row-key range', async () => {
    const storage = testStorage();
    const runs = new RunStore({ runs: storage.table(uniqueName('r')), items: storage.table(uniqueName('i')), units: storage.table(uniqueName('u')) });
    await runs.ensure();
    await runs.addUnits('run-1', [unit('aa', 'k1'), unit('aa', 'k2'), unit('aab', 'k3'), unit('a', 'k4'), unit('ab', 'k5')]);
    await runs.addUnits('run-2', [unit('aa', 'k6')]);
    const rows = await runs.listUnitsOfMailbox('run-1', 'aa');
    expect(rows.map((r) => r.itemKey).sort()).toEqual(['k1', 'k2']);
    expect((await runs.listUnits('run-1')).length).toBe(5);
  });
});
