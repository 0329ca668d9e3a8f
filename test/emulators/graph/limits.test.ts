/** Outlook's per-mailbox throttling and the seeded / one-off faults. */
import { startGraphEmulator, type GraphEmulator } from '../../../local/emulators/graph';
import { client, enc } from './http';
import { archivedMessage, users } from './fixtures';

describe('per-mailbox throttling', () => {
  let emulator: GraphEmulator;
  let api: ReturnType<typeof client>;

  beforeEach(async () => {
    emulator = await startGraphEmulator({ users, faultRate: 0 });
    api = client(emulator);
  });

  afterEach(async () => {
    await emulator.stop();
  });

  it('answers a fifth concurrent request to one mailbox with 429 MailboxConcurrency while another mailbox is unaffected', async () => {
    emulator.setOption('latencyInMs', 1000);
    const alice = Array.from({ length: 8 }, () => api.get('/users/alice@contoso.test/mailFolders/inbox'));
    const bob = api.get('/users/bob@contoso.test/mailFolders/inbox');
    const results = await Promise.all(alice);
    const throttled = results.filter((r) => r.status === 429);
    expect(results.filter((r) => r.status === 200)).toHaveLength(4);
    expect(throttled).toHaveLength(4);
    expect(throttled[0].json.error.code).toBe('ApplicationThrottled');
    expect(throttled[0].json.error.message).toContain('MailboxConcurrency');
    expect(Number(throttled[0].headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await bob).status).toBe(200);
    const stats = emulator.stats();
    const aliceId = emulator.store.findUser('alice@contoso.test')!.id;
    const bobId = emulator.store.findUser('bob@contoso.test')!.id;
    expect(stats.mailboxes[aliceId].maxConcurrency).toBe(4);
    expect(stats.mailboxes[aliceId].throttled.concurrency).toBe(4);
    expect(stats.mailboxes[bobId].throttled.concurrency).toBe(0);
  });

  it('inside a batch runs at most 4 requests of a mailbox at once, so a batch of 20 is not throttled', async () => {
    emulator.setOption('latencyInMs', 50);
    const requests = Array.from({ length: 20 }, (_, i) => ({ id: String(i), method: 'GET', url: '/users/alice@contoso.test/mailFolders/inbox' }));
    const res = await api.post('/$batch', { requests });
    expect(res.json.responses.every((r: { status: number }) => r.status === 200)).toBe(true);
    expect(emulator.stats().mailboxes[emulator.store.findUser('alice@contoso.test')!.id].maxConcurrency).toBe(4);
  });

  it('limits requests per 10 minutes per mailbox (scaled), counting throttled requests too, and recovers after the window', async () => {
    // 10 requests per "10 minutes" scaled to 0.6 s.
    emulator.setOption('limits', { requestsPer10Min: 10, timeScale: 0.001 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await api.get('/users/alice@contoso.test/mailFolders/inbox')).status);
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    const throttled = await api.get('/users/alice@contoso.test/mailFolders/inbox');
    expect(throttled.json.error.code).toBe('ApplicationThrottled');
    expect(throttled.headers['retry-after']).toBeDefined();
    expect((await api.get('/users/bob@contoso.test/mailFolders/inbox')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 700));
    expect((await api.get('/users/alice@contoso.test/mailFolders/inbox')).status).toBe(200);
    expect(emulator.stats().mailboxes[emulator.store.findUser('alice@contoso.test')!.id].throttled.requestRate).toBe(3);
  });

  it('limits uploaded bytes per 5 minutes per mailbox', async () => {
    emulator.setOption('limits', { uploadBytesPer5Min: 5000 });
    const first = await api.post('/users/alice@contoso.test/mailFolders/inbox/messages', archivedMessage('u1', { body: { contentType: 'text', content: 'x'.repeat(3000) } }));
    expect(first.status).toBe(201);
    const second = await api.post('/users/alice@contoso.test/mailFolders/inbox/messages', archivedMessage('u2', { body: { contentType: 'text', content: 'x'.repeat(3000) } }));
    expect(second.status).toBe(429);
    expect(second.json.error.message).toContain('IncomingBytes');
    const bob = await api.post('/users/bob@contoso.test/mailFolders/inbox/messages', archivedMessage('u3', { body: { contentType: 'text', content: 'x'.repeat(3000) } }));
    expect(bob.status).toBe(201);
  });
});

describe('faults', () => {
  async function run(seed: number): Promise<string[]> {
    const emulator = await startGraphEmulator({ users, faultRate: 0.3, seed });
    const api = client(emulator);
    const outcomes: string[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        try {
          const r = await api.get(`/users/alice@contoso.test/mailFolders/inbox/messages?$top=${1 + (i % 3)}`);
          outcomes.push(`${r.status}${r.headers['retry-after'] ? `/ra=${r.headers['retry-after']}` : ''}`);
        } catch (e) {
          outcomes.push(`reset:${(e as NodeJS.ErrnoException).code ?? 'error'}`);
        }
      }
    } finally {
      await emulator.stop();
    }
    return outcomes;
  }

  it('injects the same faults for the same seed, different ones for another seed', async () => {
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const faults = a.filter((o) => !o.startsWith('200'));
    expect(faults.length).toBeGreaterThan(3);
    expect(faults.length).toBeLessThan(25);
    for (const f of a.filter((o) => o.startsWith('429') || o.startsWith('503'))) expect(f).toMatch(/ra=\d+/);
  });

  it('fails the next matching request as asked, including after the write took effect', async () => {
    const emulator = await startGraphEmulator({ users, faultRate: 0 });
    const api = client(emulator);
    try {
      emulator.failNext({ method: 'GET', pathPattern: /\/mailFolders$/, status: 503, retryAfterInSeconds: 2, times: 2 });
      const a = await api.get('/users/alice@contoso.test/mailFolders');
      const b = await api.get('/users/alice@contoso.test/mailFolders');
      const c = await api.get('/users/alice@contoso.test/mailFolders');
      expect([a.status, b.status, c.status]).toEqual([503, 503, 200]);
      expect(a.headers['retry-after']).toBe('2');
      expect(a.json.error.innerError['request-id']).toEqual(expect.any(String));

      emulator.failNext({ method: 'POST', pathPattern: '/messages', status: 504, afterExecution: true });
      const lost = await api.post('/users/alice@contoso.test/mailFolders/inbox/messages', archivedMessage('lost-answer'));
      expect(lost.status).toBe(504);
      expect(emulator.store.listMessages('alice@contoso.test', 'Inbox').map((m) => m.internetMessageId)).toContain('<lost-answer@o2-network-archiver>');

      emulator.failNext({ pathPattern: '/users/bob', status: 0, reset: true });
      await expect(api.get(`/users/${enc('bob@contoso.test')}/mailFolders`)).rejects.toThrow();
    } finally {
      await emulator.stop();
    }
  });
});

describe("attachment sizes as Graph documents them: a POST under 3 MB, an upload session from 3 MB to 150 MB (issue 11)", () => {
  let emulator: GraphEmulator;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    emulator = await startGraphEmulator({ users, faultRate: 0 });
    api = client(emulator);
  });

  afterAll(async () => {
    await emulator.stop();
  });

  async function message(): Promise<string> {
    const created = await api.post('/users/alice@contoso.test/mailFolders/inbox/messages', archivedMessage(`sizes-${Math.random()}`));
    expect(created.status).toBe(201);
    return enc(created.json.id);
  }

  it('takes a POST of a file under 3,000,000 bytes, however close to 4 MB its request comes, and refuses one of 3,000,000', async () => {
    const id = await message();
    const post = (size: number) => api.post(`/users/alice@contoso.test/messages/${id}/attachments`,
      { '@odata.type': '#microsoft.graph.fileAttachment', name: `${'n'.repeat(120)}.bin`, contentType: 'application/octet-stream', contentBytes: Buffer.alloc(size, 1).toString('base64') });
    const under = await post(2_999_999);
    expect(under.status).toBe(201);
    const at = await post(3_000_000);
    expect(at.status).toBe(413);
    expect(at.json.error.message).toMatch(/upload session/);
  });

  it('opens an upload session from 3,000,000 bytes to 150,000,000 and for no other size', async () => {
    emulator.setOption('limits', { maxMessageBytes: 160_000_000 });
    try {
      const id = await message();
      const open = (size: number) => api.post(`/users/alice@contoso.test/messages/${id}/attachments/createUploadSession`,
        { AttachmentItem: { attachmentType: 'file', name: 'f.bin', size } });
      const answers: [number, number, string | undefined][] = [];
      for (const size of [2_999_999, 3_000_000, 3_145_727, 3_145_728, 150_000_000, 150_000_001]) {
        const r = await open(size);
        answers.push([size, r.status, r.json.error?.code]);
      }
      expect(answers).toEqual([
        [2_999_999, 400, 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize'],
        [3_000_000, 201, undefined],
        [3_145_727, 201, undefined],
        [3_145_728, 201, undefined],
        [150_000_000, 201, undefined],
        [150_000_001, 400, 'ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize'],
      ]);
    } finally {
      emulator.setOption('limits', { maxMessageBytes: 35 * 1024 * 1024 });
    }
  });
});
