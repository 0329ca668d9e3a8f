/**
 * The Graph emulator's behaviour switches: for each behaviour the importer
 * relies on and the canary proves on a real tenant, the emulator answers as
 * Graph documents it by default, and with the switch as a tenant that
 * behaves otherwise would, so that both answers of the canary can be tested.
 */
import { startGraphEmulator, type GraphEmulator } from '../../../local/emulators/graph';
import { client, enc } from './http';
import { archivedMessage, FOLDER, ITEM_PROP, users } from './fixtures';

let emulator: GraphEmulator;
let api: ReturnType<typeof client>;
let folderId: string;

beforeAll(async () => {
  emulator = await startGraphEmulator({ users, token: 'test-token', faultRate: 0 });
  api = client(emulator);
  folderId = (await api.post('/users/bob@contoso.test/mailFolders', { displayName: FOLDER })).json.id;
});

afterAll(async () => {
  await emulator.stop();
});

const create = (itemId: string) => api.post(`/users/bob@contoso.test/mailFolders/${enc(folderId)}/messages`, archivedMessage(itemId));

describe('messageFlagsAtCreate', () => {
  it("'honour' (default): PR_MESSAGE_FLAGS at creation makes a received, non-draft message", async () => {
    expect((await create('flags-honour')).json.isDraft).toBe(false);
  });

  it("'ignore': every JSON-created message is a draft", async () => {
    emulator.setOption('messageFlagsAtCreate', 'ignore');
    try {
      expect((await create('flags-ignore')).json.isDraft).toBe(true);
    } finally {
      emulator.setOption('messageFlagsAtCreate', 'honour');
    }
  });
});

describe('deliveryTime', () => {
  it("'honour' (default): receivedDateTime and sentDateTime are the delivery and submit times given", async () => {
    const m = (await create('time-honour')).json;
    expect([m.receivedDateTime, m.sentDateTime]).toEqual(['2026-11-25T10:15:30Z', '2026-11-25T10:15:30Z']);
  });

  it("'ignore': both are the time of creation", async () => {
    emulator.setOption('deliveryTime', 'ignore');
    try {
      const before = Date.now() - 2000;
      const m = (await create('time-ignore')).json;
      expect(Date.parse(m.receivedDateTime)).toBeGreaterThanOrEqual(before);
      expect(m.sentDateTime).toBe(m.receivedDateTime);
    } finally {
      emulator.setOption('deliveryTime', 'honour');
    }
  });
});

describe('extendedPropertyFilter', () => {
  const byProperty = (value: string) =>
    api.get(`/users/bob@contoso.test/messages?$filter=${enc(`singleValueExtendedProperties/any(ep: ep/id eq '${ITEM_PROP}' and ep/value eq '${value}')`)}&$select=id`);

  it("'supported' (default): $filter on the named property finds the message", async () => {
    const id = (await create('filter-supported')).json.id;
    const found = await byProperty('filter-supported');
    expect(found.status).toBe(200);
    expect(found.json.value.map((m: { id: string }) => m.id)).toEqual([id]);
  });

  it("'refuse': the filter is refused with 400 ErrorInvalidUrlQueryFilter; other filters still work", async () => {
    emulator.setOption('extendedPropertyFilter', 'refuse');
    try {
      await create('filter-refused');
      const refused = await byProperty('filter-refused');
      expect(refused.status).toBe(400);
      expect(refused.json.error.code).toBe('ErrorInvalidUrlQueryFilter');
      const byMessageId = await api.get(`/users/bob@contoso.test/messages?$filter=${enc("internetMessageId eq '<filter-refused@o2-network-archiver>'")}&$select=id`);
      expect(byMessageId.status).toBe(200);
      expect(byMessageId.json.value).toHaveLength(1);
    } finally {
      emulator.setOption('extendedPropertyFilter', 'supported');
    }
  });
});
