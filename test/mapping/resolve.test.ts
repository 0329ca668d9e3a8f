import type { Item, Participant } from '../../shared/model/item';
import { createMailboxResolver } from '../../shared/stages/mapping/resolve';
import { createStaticDirectory } from '../support/staticDirectory';
import type { DirectoryUser, UserDirectory } from '../../shared/model/stages';

const ALICE = { id: 'id-alice', userPrincipalName: 'alice.smith@contoso.example', mail: 'Alice.Smith@contoso.example', proxyAddresses: ['SMTP:Alice.Smith@contoso.example', 'smtp:asmith@contoso-legacy.example', 'SIP:alice.sip@contoso.example'] };
const BOB = { id: 'id-bob', userPrincipalName: 'bob.jones@contoso.example', mail: 'bob.jones@contoso.example' };
const CAROL = { id: 'id-carol', userPrincipalName: 'carol.white@contoso.example' };

function item(from: Participant, ...to: Participant[]): Item {
  return { id: `tm-${Math.random()}`, type: 'sms', direction: 'outbound', timestamp: '2026-11-25T10:00:00.000Z', from, to, text: 'hi' };
}

function resolver(mapping: Record<string, string>, directory: UserDirectory = createStaticDirectory([ALICE, BOB, CAROL])) {
  return createMailboxResolver({ directory, mapping: new Map(Object.entries(mapping)), defaultRegion: 'GB' });
}

describe('mailbox resolver', () => {
  it('maps automatically by the participants\' email property when there is no custom mapping', async () => {
    const routing = await resolver({}).route(
      item({ phone: '+447700900101', email: 'alice.smith@contoso.example' }, { phone: '+447700900102', email: 'BOB.JONES@contoso.example' }),
    );
    expect(routing).toEqual({
      mailboxes: [
        { objectId: 'id-alice', userPrincipalName: 'alice.smith@contoso.example' },
        { objectId: 'id-bob', userPrincipalName: 'bob.jones@contoso.example' },
      ],
      unmappedNumbers: [],
    });
  });

  it('maps by the custom mapping alone, with the number in any form', async () => {
    const routing = await resolver({ '+447700900103': 'carol.white@contoso.example' }).route(
      item({ phone: '07700 900103' }, { phone: '+447700900555' }),
    );
    expect(routing.mailboxes.map((m) => m.objectId)).toEqual(['id-carol']);
    expect(routing.unmappedNumbers).toEqual(['+447700900555']);
  });

  it('tries the custom mapping first, then the email property', async () => {
    // The number is mapped to Bob although the source says the sender is Alice:
    // the admin's mapping wins and Alice's address is not used.
    const routing = await resolver({ '+447700900101': 'bob.jones@contoso.example' }).route(
      item({ phone: '+447700900101', email: 'alice.smith@contoso.example' }),
    );
    expect(routing.mailboxes.map((m) => m.objectId)).toEqual(['id-bob']);
  });

  it('falls through to the email property when the mapped mailbox is not a user', async () => {
    const routing = await resolver({ '+447700900101': 'left.company@contoso.example' }).route(
      item({ phone: '+447700900101', email: 'alice.smith@contoso.example' }),
    );
    expect(routing).toEqual({ mailboxes: [{ objectId: 'id-alice', userPrincipalName: 'alice.smith@contoso.example' }], unmappedNumbers: [] });
  });

  it('accepts an address that is one of a user\'s proxy addresses (not a SIP one)', async () => {
    const r = resolver({ '+447700900101': 'ASmith@Contoso-Legacy.example', '+447700900102': 'alice.sip@contoso.example' });
    const routing = await r.route(item({ phone: '+447700900101' }, { phone: '+447700900102' }));
    expect(routing.mailboxes).toEqual([{ objectId: 'id-alice', userPrincipalName: 'alice.smith@contoso.example' }]);
    expect(routing.unmappedNumbers).toEqual(['+447700900102']);
  });

  it('treats Alice.Smith@ and alice.smith@ (and her alias) as one mailbox', async () => {
    const routing = await resolver({ '+447700900109': 'asmith@contoso-legacy.example' }).route(
      item({ phone: '+447700900101', email: 'Alice.Smith@contoso.example' }, { phone: '+447700900108', email: 'alice.smith@contoso.example' }, { phone: '+447700900109' }),
    );
    expect(routing.mailboxes).toEqual([{ objectId: 'id-alice', userPrincipalName: 'alice.smith@contoso.example' }]);
    expect(routing.unmappedNumbers).toEqual([]);
  });

  it('routes an item of two users to both mailboxes and names the outside number', async () => {
    const routing = await resolver({ '+447700900103': 'carol.white@contoso.example' }).route(
      item({ phone: '+447700900101', email: 'alice.smith@contoso.example' }, { phone: '07700 900103' }, { phone: '+447700900555' }),
    );
    expect(routing.mailboxes.map((m) => m.objectId)).toEqual(['id-alice', 'id-carol']);
    expect(routing.unmappedNumbers).toEqual(['+447700900555']);
  });

  it('routes an item for nobody to no mailbox, with every number (and a sender id as given)', async () => {
    const routing = await resolver({ '+447700900101': 'alice.smith@contoso.example' }).route(
      item({ phone: 'O2 Offers', email: 'not an address' }, { phone: '07700 900555' }, { phone: '+447700900999', email: 'stranger@elsewhere.example' }, { phone: '+447700900555' }),
    );
    expect(routing).toEqual({ mailboxes: [], unmappedNumbers: ['O2 Offers', '+447700900555', '+447700900999'] });
  });

  it('looks every address of a batch up in one directory call, and never asks twice', async () => {
    const directory = createStaticDirectory([ALICE, BOB, CAROL]);
    const r = resolver({ '+447700900103': 'carol.white@contoso.example' }, directory);
    const batch = [
      item({ phone: '+447700900101', email: 'alice.smith@contoso.example' }, { phone: '+447700900103' }),
      item({ phone: '+447700900102', email: 'bob.jones@contoso.example' }, { phone: '+447700900555', email: 'nobody@contoso.example' }),
      item({ phone: '+447700900103' }, { phone: '+447700900101', email: 'ALICE.SMITH@contoso.example' }),
    ];
    const routings = await r.routeMany(batch);
    expect(routings.map((x) => x.mailboxes.map((m) => m.objectId))).toEqual([
      ['id-alice', 'id-carol'],
      ['id-bob'],
      ['id-carol', 'id-alice'],
    ]);
    expect(directory.calls).toHaveLength(1);
    expect([...directory.calls[0]].sort()).toEqual([
      'alice.smith@contoso.example',
      'bob.jones@contoso.example',
      'carol.white@contoso.example',
      'nobody@contoso.example',
    ]);
    // The cache answers a later batch of known addresses (found or not) without a call.
    await r.routeMany([item({ phone: '+447700900555', email: 'nobody@contoso.example' }), item({ phone: '+447700900103' })]);
    expect(directory.calls).toHaveLength(1);
    await r.route(item({ phone: '+447700900104', email: 'carol.white@contoso.example' }, { phone: '+447700900105', email: 'new@contoso.example' }));
    expect(directory.calls).toHaveLength(2);
    expect(directory.calls[1]).toEqual(['new@contoso.example']);
  });

  it('asks again after a failed lookup instead of remembering the failure', async () => {
    let fail = true;
    const inner = createStaticDirectory([ALICE]);
    const flaky: UserDirectory = {
      async findUsers(addresses): Promise<Map<string, DirectoryUser>> {
        if (fail) throw new Error('Graph unavailable');
        return inner.findUsers(addresses);
      },
    };
    const r = resolver({}, flaky);
    const it1 = item({ phone: '+447700900101', email: 'alice.smith@contoso.example' });
    await expect(r.route(it1)).rejects.toThrow('Graph unavailable');
    fail = false;
    expect((await r.route(it1)).mailboxes.map((m) => m.objectId)).toEqual(['id-alice']);
  });
});
