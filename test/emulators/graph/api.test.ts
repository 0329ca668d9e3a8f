/** The Graph emulator's API behaviour: auth, directory, folders, messages, attachments, upload sessions, batching, importMime. */
import { startGraphEmulator, type GraphEmulator } from '../../../local/emulators/graph';
import { client, enc, request } from './http';
import { archivedMessage, FOLDER, ITEM_PROP, users } from './fixtures';

let emulator: GraphEmulator;
let api: ReturnType<typeof client>;
let folderId: string;

beforeAll(async () => {
  emulator = await startGraphEmulator({ users, token: 'test-token', faultRate: 0 });
  api = client(emulator);
  const created = await api.post('/users/alice@contoso.test/mailFolders', { displayName: FOLDER });
  expect(created.status).toBe(201);
  folderId = created.json.id;
});

afterAll(async () => {
  await emulator.stop();
});

describe('authentication', () => {
  it('refuses a request without a bearer token with 401 InvalidAuthenticationToken', async () => {
    const res = await api.anonymous('GET', '/users/alice@contoso.test');
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('InvalidAuthenticationToken');
    expect(res.json.error.innerError['request-id']).toEqual(expect.any(String));
    expect(res.json.error.innerError.date).toEqual(expect.any(String));
  });

  it('refuses a wrong token', async () => {
    const res = await api.anonymous('GET', '/users', { headers: { Authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('InvalidAuthenticationToken');
  });

  it('serves https with a certificate for 127.0.0.1 that the given CA trusts', async () => {
    expect(emulator.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1\.0$/);
    await expect(request('', 'GET', `${emulator.url}/users`, {})).rejects.toThrow();
  });
});

describe('directory', () => {
  it('gets a user by UPN (any case) and by object id, 404 Request_ResourceNotFound otherwise', async () => {
    const byUpn = await api.get('/users/ALICE@contoso.test');
    expect(byUpn.status).toBe(200);
    const byId = await api.get(`/users/${byUpn.json.id}`);
    expect(byId.json.userPrincipalName).toBe('alice@contoso.test');
    expect(byUpn.json.proxyAddresses).toBeUndefined();
    const missing = await api.get('/users/nobody@contoso.test');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('Request_ResourceNotFound');
  });

  it('filters users by mail, UPN (eq, or, in) and proxyAddresses/any, case-insensitively', async () => {
    const f = (q: string) => api.get(`/users?$filter=${enc(q)}&$select=id,userPrincipalName,mail,proxyAddresses`);
    expect((await f("mail eq 'alice.smith@CONTOSO.test'")).json.value.map((u: { userPrincipalName: string }) => u.userPrincipalName)).toEqual(['alice@contoso.test']);
    expect((await f("userPrincipalName in ('BOB@contoso.test', 'x@y.z')")).json.value).toHaveLength(1);
    expect((await f("mail eq 'bob@contoso.test' or userPrincipalName eq 'alice@contoso.test'")).json.value).toHaveLength(2);
    expect((await f("proxyAddresses/any(x:x eq 'smtp:AS@legacy.contoso.test')")).json.value[0].userPrincipalName).toBe('alice@contoso.test');
    expect((await f("proxyAddresses/any(x:x eq 'smtp:unknown@contoso.test')")).json.value).toEqual([]);
  });

  it('refuses more than 15 expressions and advanced operators without ConsistencyLevel', async () => {
    const many = Array.from({ length: 16 }, (_, i) => `'u${i}@x.test'`).join(',');
    const tooMany = await api.get(`/users?$filter=${enc(`mail in (${many})`)}`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error.code).toBe('Request_UnsupportedQuery');
    const endsWith = await api.get(`/users?$filter=${enc("endswith(mail,'@contoso.test')")}`);
    expect(endsWith.status).toBe(400);
    const advanced = await api.get(`/users?$filter=${enc("endswith(mail,'@contoso.test')")}&$count=true`, { ConsistencyLevel: 'eventual' });
    expect(advanced.status).toBe(200);
    expect(advanced.json['@odata.count']).toBe(3);
  });

  it('answers mailbox calls for an unknown user with ErrorInvalidUser and a user without mailbox with MailboxNotEnabledForRESTAPI', async () => {
    expect((await api.get('/users/ghost@contoso.test/mailFolders')).json.error.code).toBe('ErrorInvalidUser');
    const carol = await api.get('/users/carol@contoso.test/mailFolders');
    expect(carol.status).toBe(404);
    expect(carol.json.error.code).toBe('MailboxNotEnabledForRESTAPI');
  });

  it('refuses /me for app-only calls', async () => {
    expect((await api.get('/me/messages')).status).toBe(400);
  });
});

describe('mail folders', () => {
  it('finds the folder by displayName filter and refuses a duplicate with 409 ErrorFolderExists (any case)', async () => {
    const found = await api.get(`/users/alice@contoso.test/mailFolders?$filter=${enc(`displayName eq '${FOLDER}'`)}`);
    expect(found.json.value).toHaveLength(1);
    expect(found.json.value[0].id).toBe(folderId);
    const dup = await api.post('/users/alice@contoso.test/mailFolders', { displayName: FOLDER.toUpperCase() });
    expect(dup.status).toBe(409);
    expect(dup.json.error.code).toBe('ErrorFolderExists');
  });

  it('pages top-level folders 10 at a time with @odata.nextLink', async () => {
    for (let i = 0; i < 3; i++) await api.post('/users/bob@contoso.test/mailFolders', { displayName: `Extra ${i}` });
    const first = await api.get('/users/bob@contoso.test/mailFolders');
    expect(first.json.value).toHaveLength(10);
    expect(first.json['@odata.nextLink']).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1\.0\/users\//);
    const second = await api.get(first.json['@odata.nextLink']);
    expect(second.json.value).toHaveLength(1);
    expect(second.json['@odata.nextLink']).toBeUndefined();
  });

  it('gets a folder by id or well-known name; an unknown id is 404 ErrorItemNotFound, a malformed one 400', async () => {
    expect((await api.get(`/users/alice@contoso.test/mailFolders/${enc(folderId)}`)).json.displayName).toBe(FOLDER);
    expect((await api.get('/users/alice@contoso.test/mailFolders/inbox')).json.displayName).toBe('Inbox');
    const unknown = await api.get(`/users/alice@contoso.test/mailFolders/${enc('AAMkAGdoesnotexist0123456789=')}`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('ErrorItemNotFound');
    expect((await api.get(`/users/alice@contoso.test/mailFolders/${enc(FOLDER)}`)).json.error.code).toBe('ErrorInvalidIdMalformed');
  });
});

describe('messages', () => {
  const messages = (q = '') => `/users/alice@contoso.test/mailFolders/${enc(folderId)}/messages${q}`;

  it('creates a received message when PR_MESSAGE_FLAGS is given without MSGFLAG_UNSENT, and a draft without it', async () => {
    const received = await api.post(messages(), archivedMessage('item-1'));
    expect(received.status).toBe(201);
    expect(received.json.isDraft).toBe(false);
    expect(received.json.isRead).toBe(true);
    expect(received.json.receivedDateTime).toBe('2026-11-25T10:15:30Z');
    expect(received.json.sentDateTime).toBe('2026-11-25T10:15:30Z');
    expect(received.json.internetMessageId).toBe('<item-1@o2-network-archiver>');
    expect(received.json.internetMessageHeaders).toBeUndefined();
    const draft = await api.post(messages(), { subject: 'draft', body: { contentType: 'text', content: 'x' } });
    expect(draft.json.isDraft).toBe(true);
    const unsent = await api.post(messages(), archivedMessage('item-unsent', { singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '9' }] }));
    expect(unsent.json.isDraft).toBe(true);
  });

  it('refuses more than five internet message headers, or one not named x-', async () => {
    const six = Array.from({ length: 6 }, (_, i) => ({ name: `X-H${i}`, value: 'v' }));
    const tooMany = await api.post(messages(), archivedMessage('item-h', { internetMessageHeaders: six }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.json.error.code).toBe('InvalidInternetMessageHeaderCollection');
    const notX = await api.post(messages(), archivedMessage('item-h', { internetMessageHeaders: [{ name: 'Thread-Topic', value: 'v' }] }));
    expect(notX.status).toBe(400);
    expect(notX.json.error.code).toBe('InvalidInternetMessageHeader');
  });

  it('refuses unknown properties, bad extended property ids and values', async () => {
    expect((await api.post(messages(), { subject: 's', foo: 1 })).json.error.code).toBe('RequestBodyRead');
    const badId = await api.post(messages(), { singleValueExtendedProperties: [{ id: 'Integer 0xZZ', value: '1' }] });
    expect(badId.json.error.code).toBe('ErrorInvalidExtendedProperty');
    const badValue = await api.post(messages(), { singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: 1 }] });
    expect(badValue.json.error.code).toBe('ErrorInvalidExtendedPropertyValue');
  });

  it('answers 413 for a request body over 4 MB', async () => {
    const big = archivedMessage('item-big', { body: { contentType: 'text', content: 'x'.repeat(4 * 1024 * 1024) } });
    const res = await api.post(messages(), big);
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe('RequestEntityTooLarge');
  });

  it('finds a message by its named property with singleValueExtendedProperties/any (and Any), case-sensitive in the Name', async () => {
    await api.post(messages(), archivedMessage('item-find'));
    const q = (filter: string) => api.get(messages(`?$filter=${enc(filter)}&$select=id,subject`));
    const hit = await q(`singleValueExtendedProperties/any(ep: ep/id eq '${ITEM_PROP}' and ep/value eq 'item-find')`);
    expect(hit.status).toBe(200);
    expect(hit.json.value).toHaveLength(1);
    expect(Object.keys(hit.json.value[0]).sort()).toEqual(['@odata.etag', 'id', 'subject']);
    const capital = await q(`singleValueExtendedProperties/Any(ep: ep/id eq '${ITEM_PROP.replace('e264df5e', 'E264DF5E')}' and ep/value eq 'ITEM-FIND')`);
    expect(capital.json.value).toHaveLength(1);
    const wrongNameCase = await q(`singleValueExtendedProperties/any(ep: ep/id eq '${ITEM_PROP.replace('O2ArchiverItemId', 'o2archiveritemid')}' and ep/value eq 'item-find')`);
    expect(wrongNameCase.json.value).toHaveLength(0);
    const bad = await q("singleValueExtendedProperties/any(ep: ep/id eq 'x' and");
    expect(bad.status).toBe(400);
    const unknownProp = await q("nosuch eq 'x'");
    expect(unknownProp.status).toBe(400);
  });

  it('expands the named property and PR_MESSAGE_FLAGS, with canonical ids, and omits what the message lacks', async () => {
    const created = await api.post(messages(), archivedMessage('item-expand'));
    const id = enc(created.json.id);
    const expand = `$expand=${enc(`singleValueExtendedProperties($filter=id eq '${ITEM_PROP}' or id eq 'Integer 0x0E07')`)}`;
    const got = await api.get(`/users/alice@contoso.test/messages/${id}?$select=isDraft,receivedDateTime,internetMessageId&${expand}`);
    expect(got.status).toBe(200);
    expect(got.json.isDraft).toBe(false);
    expect(got.json.singleValueExtendedProperties).toEqual(expect.arrayContaining([
      { id: 'Integer 0xe07', value: '1' },
      { id: `String {e264df5e-3813-4e29-bc56-d084eb5a95a3} Name O2ArchiverItemId`, value: 'item-expand' },
    ]));
    const none = await api.get(`/users/alice@contoso.test/messages/${id}?$expand=${enc("singleValueExtendedProperties($filter=id eq 'String {e264df5e-3813-4e29-bc56-d084eb5a95a3} Name Missing')")}`);
    expect(none.json.singleValueExtendedProperties).toBeUndefined();
    const headers = await api.get(`/users/alice@contoso.test/messages/${id}?$select=internetMessageHeaders`);
    expect(headers.json.internetMessageHeaders).toHaveLength(2);
  });

  it('pages messages with $top and @odata.nextLink', async () => {
    for (let i = 0; i < 3; i++) await api.post('/users/bob@contoso.test/mailFolders/inbox/messages', archivedMessage(`bob-${i}`));
    const first = await api.get('/users/bob@contoso.test/mailFolders/inbox/messages?$top=2&$select=subject');
    expect(first.json.value).toHaveLength(2);
    const second = await api.get(first.json['@odata.nextLink']);
    expect(second.json.value).toHaveLength(1);
    expect(second.json['@odata.nextLink']).toBeUndefined();
  });

  it('returns the MIME on /$value and deletes a message', async () => {
    const created = await api.post(messages(), archivedMessage('item-mime'));
    const mime = await api.get(`/users/alice@contoso.test/messages/${enc(created.json.id)}/$value`);
    expect(mime.status).toBe(200);
    expect(mime.text).toContain('Message-ID: <item-mime@o2-network-archiver>');
    expect(mime.text).toMatch(/X-O2Archiver-Item-Id: item-mime/i);
    expect((await api.del(`/users/alice@contoso.test/messages/${enc(created.json.id)}`)).status).toBe(204);
    const gone = await api.get(`/users/alice@contoso.test/messages/${enc(created.json.id)}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe('ErrorItemNotFound');
  });

  it('moves a deleted message to Deleted Items, new id and item id kept, as Exchange does; a DELETE there removes it', async () => {
    const created = await api.post(messages(), archivedMessage('item-soft-deleted'));
    const byItem = (path: string) => api.get(`${path}?$filter=${enc(`singleValueExtendedProperties/any(ep: ep/id eq '${ITEM_PROP}' and ep/value eq 'item-soft-deleted')`)}&$select=id`);
    expect((await api.del(`/users/alice@contoso.test/messages/${enc(created.json.id)}`)).status).toBe(204);
    expect((await byItem(messages())).json.value).toHaveLength(0);
    const inDeleted = (await byItem('/users/alice@contoso.test/mailFolders/deleteditems/messages')).json.value;
    expect(inDeleted).toHaveLength(1);
    expect(inDeleted[0].id).not.toBe(created.json.id);
    // A look-up over the whole mailbox still finds the deleted copy: only the archive folder is the archive.
    expect((await byItem('/users/alice@contoso.test/messages')).json.value.map((m: { id: string }) => m.id)).toEqual([inDeleted[0].id]);
    expect((await api.del(`/users/alice@contoso.test/messages/${enc(inDeleted[0].id)}`)).status).toBe(204);
    expect((await byItem('/users/alice@contoso.test/messages')).json.value).toHaveLength(0);
  });

  it('removes a message for good with permanentDelete (no body), from any folder at once', async () => {
    const created = await api.post(messages(), archivedMessage('item-purged'));
    const id = enc(created.json.id);
    const withBody = await api.post(`/users/alice@contoso.test/messages/${id}/permanentDelete`, {});
    expect(withBody.status).toBe(400);
    expect((await api.post(`/users/alice@contoso.test/messages/${id}/permanentDelete`, undefined)).status).toBe(204);
    const all = await api.get(`/users/alice@contoso.test/messages?$filter=${enc(`singleValueExtendedProperties/any(ep: ep/id eq '${ITEM_PROP}' and ep/value eq 'item-purged')`)}`);
    expect(all.json.value).toHaveLength(0);
    const again = await api.post(`/users/alice@contoso.test/messages/${id}/permanentDelete`, undefined);
    expect(again.status).toBe(404);
    expect(again.json.error.code).toBe('ErrorItemNotFound');
  });

  it('with filterLagInMs, keeps a new message out of $filter answers for that long, while a GET by id sees it at once', async () => {
    emulator.setOption('filterLagInMs', 300);
    try {
      const created = await api.post(messages(), archivedMessage('item-lagging'));
      const q = () => api.get(messages(`?$filter=${enc(`singleValueExtendedProperties/any(ep: ep/id eq '${ITEM_PROP}' and ep/value eq 'item-lagging')`)}&$select=id`));
      expect((await q()).json.value).toHaveLength(0);
      expect((await api.get(`/users/alice@contoso.test/messages/${enc(created.json.id)}`)).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect((await q()).json.value).toHaveLength(1);
    } finally {
      emulator.setOption('filterLagInMs', 0);
    }
  });

  it('keeps a saved message received when PR_MESSAGE_FLAGS is patched, and refuses draft-only properties', async () => {
    const created = await api.post(messages(), archivedMessage('item-patch'));
    const patched = await api.patch(`/users/alice@contoso.test/messages/${enc(created.json.id)}`, { singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '8' }] });
    expect(patched.json.isDraft).toBe(false);
    const subject = await api.patch(`/users/alice@contoso.test/messages/${enc(created.json.id)}`, { subject: 'new' });
    expect(subject.status).toBe(400);
  });
});

describe('attachments', () => {
  const messages = () => `/users/alice@contoso.test/mailFolders/${enc(folderId)}/messages`;
  const bytes = (n: number, seed = 7) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256));

  it('takes inline fileAttachments in the create request and gives the bytes back', async () => {
    const content = bytes(1000);
    const created = await api.post(messages(), archivedMessage('item-att', {
      attachments: [{ '@odata.type': '#microsoft.graph.fileAttachment', name: 'photo.jpg', contentType: 'image/jpeg', contentBytes: content.toString('base64') }],
    }));
    expect(created.status).toBe(201);
    expect(created.json.hasAttachments).toBe(true);
    const list = await api.get(`/users/alice@contoso.test/messages/${enc(created.json.id)}?$expand=attachments`);
    expect(Buffer.from(list.json.attachments[0].contentBytes, 'base64').equals(content)).toBe(true);
    expect(list.json.attachments[0].size).toBeGreaterThan(content.length);
    const flags = await api.get(`/users/alice@contoso.test/messages/${enc(created.json.id)}?$expand=${enc("singleValueExtendedProperties($filter=id eq 'Integer 0x0E07')")}`);
    expect(flags.json.singleValueExtendedProperties[0].value).toBe(String(1 | 0x10));
  });

  it('uploads a large attachment through an upload session: in-order ranges, no Authorization, 201 at the end', async () => {
    const created = await api.post(messages(), archivedMessage('item-large'));
    const id = enc(created.json.id);
    const content = bytes(5 * 1024 * 1024 + 123, 3);
    const tooSmall = await api.post(`/users/alice@contoso.test/messages/${id}/attachments/createUploadSession`,
      { AttachmentItem: { attachmentType: 'file', name: 'small.bin', size: 1000 } });
    expect(tooSmall.json.error.code).toBe('ErrorAttachmentSizeShouldNotBeLessThanMinimumSize');
    const session = await api.post(`/users/alice@contoso.test/messages/${id}/attachments/createUploadSession`,
      { AttachmentItem: { attachmentType: 'file', name: 'recording.mp3', size: content.length, contentType: 'audio/mpeg' } });
    expect(session.status).toBe(201);
    expect(session.json.nextExpectedRanges).toEqual(['0-']);
    const uploadUrl: string = session.json.uploadUrl;
    expect(new URL(uploadUrl).hostname).toBe('localhost');
    const chunk = 3 * 1024 * 1024;
    const put = (start: number, end: number, headers: Record<string, string> = {}) => api.anonymous('PUT', uploadUrl, {
      raw: content.subarray(start, end + 1),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes ${start}-${end}/${content.length}`, ...headers },
    });
    const withAuth = await put(0, chunk - 1, { Authorization: `Bearer ${emulator.token}` });
    expect(withAuth.status).toBe(401);
    const outOfOrder = await put(chunk, content.length - 1);
    expect(outOfOrder.status).toBe(416);
    const first = await put(0, chunk - 1);
    expect(first.status).toBe(200);
    expect(first.json.nextExpectedRanges).toEqual([String(chunk)]);
    const last = await put(chunk, content.length - 1);
    expect(last.status).toBe(201);
    expect(last.headers.location).toContain('/Attachments(');
    const atts = await api.get(`/users/alice@contoso.test/messages/${id}/attachments`);
    expect(atts.json.value).toHaveLength(1);
    const raw = await api.get(`/users/alice@contoso.test/messages/${id}/attachments/${enc(atts.json.value[0].id)}/$value`);
    expect(raw.buffer.equals(content)).toBe(true);
  });

  it("refuses attachments on a non-draft message with 400 ErrorInvalidOperation when nonDraftAttachments is 'refuse'", async () => {
    emulator.setOption('nonDraftAttachments', 'refuse');
    try {
      const created = await api.post(messages(), archivedMessage('item-refuse'));
      const id = enc(created.json.id);
      const post = await api.post(`/users/alice@contoso.test/messages/${id}/attachments`,
        { '@odata.type': '#microsoft.graph.fileAttachment', name: 'a.txt', contentBytes: Buffer.from('a').toString('base64') });
      expect(post.status).toBe(400);
      expect(post.json.error.code).toBe('ErrorInvalidOperation');
      const session = await api.post(`/users/alice@contoso.test/messages/${id}/attachments/createUploadSession`,
        { AttachmentItem: { attachmentType: 'file', name: 'big.bin', size: 4 * 1024 * 1024 } });
      expect(session.json.error.code).toBe('ErrorInvalidOperation');
      const draft = await api.post(messages(), { subject: 'draft' });
      const ok = await api.post(`/users/alice@contoso.test/messages/${enc(draft.json.id)}/attachments`,
        { '@odata.type': '#microsoft.graph.fileAttachment', name: 'a.txt', contentBytes: Buffer.from('a').toString('base64') });
      expect(ok.status).toBe(201);
    } finally {
      emulator.setOption('nonDraftAttachments', 'allow');
    }
  });
});

describe('JSON batching', () => {
  it('runs up to 20 requests, refuses 21, and answers each with its own status', async () => {
    const requests = [
      { id: '1', method: 'GET', url: '/users/alice@contoso.test?$select=id' },
      { id: '2', method: 'GET', url: '/users/nobody@contoso.test' },
      { id: '3', method: 'POST', url: `/users/alice@contoso.test/mailFolders/${enc(folderId)}/messages`, headers: { 'Content-Type': 'application/json' }, body: archivedMessage('item-batch') },
      { id: '4', method: 'GET', url: '/users/alice@contoso.test', dependsOn: ['2'] },
    ];
    const res = await api.post('/$batch', { requests });
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.json.responses.map((r: { id: string }) => [r.id, r]));
    expect(byId['1'].status).toBe(200);
    expect(byId['2'].status).toBe(404);
    expect(byId['3'].status).toBe(201);
    expect(byId['3'].body.isDraft).toBe(false);
    expect(byId['4'].status).toBe(424);
    const tooMany = await api.post('/$batch', { requests: Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/users' })) });
    expect(tooMany.status).toBe(400);
    const dupIds = await api.post('/$batch', { requests: [{ id: 'a', method: 'GET', url: '/users' }, { id: 'A', method: 'GET', url: '/users' }] });
    expect(dupIds.status).toBe(400);
  });
});

describe('beta importMime', () => {
  it('creates a non-draft message from base64 MIME on beta only', async () => {
    const mime = [
      'From: Bob <bob@mobile.invalid>', 'To: alice@contoso.test', 'Subject: imported', 'Date: Wed, 25 Nov 2026 10:15:30 +0000',
      'Message-ID: <mime-1@o2-network-archiver>', 'X-O2Archiver-Item-Id: mime-1', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'hello', '',
    ].join('\r\n');
    const b64 = Buffer.from(mime).toString('base64');
    const v1 = await api.postRaw(`/users/alice@contoso.test/mailFolders/${enc(folderId)}/importMime`, b64, { 'Content-Type': 'text/plain' });
    expect(v1.status).toBe(400);
    const beta = await api.postRaw(`${emulator.betaUrl}/users/alice@contoso.test/mailFolders/${enc(folderId)}/importMime`, b64, { 'Content-Type': 'text/plain' });
    expect(beta.status).toBe(201);
    expect(beta.json.isDraft).toBe(false);
    expect(beta.json.internetMessageId).toBe('<mime-1@o2-network-archiver>');
    expect(beta.json.receivedDateTime).toBe('2026-11-25T10:15:30Z');
    const mimeCreate = await api.postRaw(`/users/alice@contoso.test/mailFolders/${enc(folderId)}/messages`, b64, { 'Content-Type': 'text/plain' });
    expect(mimeCreate.json.isDraft).toBe(true);
  });
});
