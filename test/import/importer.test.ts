import { createHash } from 'node:crypto';
import { createGraphClient } from '../../shared/platform/graph/client';
import { createMailboxImporter, type MailboxImporterOptions } from '../../shared/stages/import/importer';
import { createLedger } from '../../shared/stages/import/ledger';
import type { ArchivedAttachment, ArchivedEmail, ResolvedMailbox } from '../../shared/model/stages';
import { testSettings, testStorage, uniqueName } from '../support/storage';
import { FAKE_BASE, FAKE_TOKEN, FakeGraph, FakeStaging, sampleEmail } from './fakeGraph';

const SCALE = 0.001;

function setup(options: Partial<MailboxImporterOptions> = {}) {
  const fake = new FakeGraph();
  const user = fake.addUser('alice@contoso.com');
  const mailbox: ResolvedMailbox = { objectId: user.id, userPrincipalName: user.userPrincipalName };
  const settings = testSettings({ GRAPH_BASE_URL: FAKE_BASE, GRAPH_DEV_TOKEN: FAKE_TOKEN, RETRY_TIME_SCALE: String(SCALE) });
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
    await new Promise((resolve) => setTimeout(resolve, Math.min(ms, 5)));
  };
  const graph = createGraphClient(settings, { transport: fake.send, sleep });
  const ledger = createLedger(testStorage().table(uniqueName('ledger')));
  const staging = new FakeStaging();
  const make = (extra: Partial<MailboxImporterOptions> = {}) =>
    createMailboxImporter({
      graph,
      ledger,
      staging,
      options: { folderName: 'O2 SMS and Voice Network Archiver', timeScale: SCALE, sleep, ...options, ...extra },
    });
  return { fake, user, mailbox, graph, ledger, staging, sleeps, importer: make(), make };
}

function media(id: string, size: number, fill = 1): { descriptor: ArchivedAttachment; bytes: Buffer } {
  const bytes = Buffer.alloc(size, fill);
  return {
    bytes,
    descriptor: { mediaId: id, fileName: `${id}.bin`, contentType: 'application/octet-stream', size, sha256: createHash('sha256').update(bytes).digest('hex') },
  };
}

function unitOf(email: ArchivedEmail) {
  return { itemKey: email.itemKey, itemId: email.itemId, itemType: email.itemType, email };
}

describe('mailbox importer (fake Graph)', () => {
  it('imports a unit once into the archive folder, and a second run finds it a duplicate', async () => {
    const { fake, mailbox, staging, importer, make } = setup();
    const email = sampleEmail('sms-1');
    staging.add(email);
    const first = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
    expect(first).toEqual([{ itemKey: email.itemKey, outcome: 'imported', graphMessageId: expect.any(String) }]);
    const folder = fake.folders.get(mailbox.objectId)!.find((f) => f.displayName === 'O2 SMS and Voice Network Archiver');
    expect(folder).toBeDefined();
    expect(fake.messagesOf(mailbox.objectId)[0].folderId).toBe(folder!.id);
    const second = await make().importUnits('run-2', mailbox, [unitOf(email)]);
    expect(second).toEqual([{ itemKey: email.itemKey, outcome: 'duplicate', graphMessageId: first[0].outcome === 'imported' ? first[0].graphMessageId : '' }]);
    expect(fake.countWithItemId(mailbox.objectId, 'sms-1')).toBe(1);
    expect(fake.log.filter((l) => l.method === 'POST' && l.path.endsWith('/messages'))).toHaveLength(1);
  });

  it('recovers a crashed attempt by the named property: found complete → not sent again', async () => {
    const { fake, mailbox, staging, ledger, make } = setup({ leaseInMs: 1 });
    const email = sampleEmail('sms-crash');
    staging.add(email);
    // A worker of run-0 created the message and died before writing the ledger.
    await ledger.claim(mailbox.objectId, email.itemKey, { runId: 'run-0', owner: 'dead', leaseInMs: 1 });
    fake.messages.get(mailbox.objectId)!.push({
      id: 'left-behind',
      folderId: fake.archiveFolder(mailbox.objectId),
      json: { singleValueExtendedProperties: [{ id: 'String {e264df5e-3813-4e29-bc56-d084eb5a95a3} Name O2ArchiverItemId', value: 'sms-crash' }] },
      attachments: [],
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const results = await make().importUnits('run-1', mailbox, [unitOf(email)]);
    expect(results).toEqual([{ itemKey: email.itemKey, outcome: 'duplicate', graphMessageId: 'left-behind' }]);
    expect(fake.countWithItemId(mailbox.objectId, 'sms-crash')).toBe(1);
    expect((await ledger.get(mailbox.objectId, email.itemKey))?.state).toBe('imported');
  });

  it('counts a recovered unit as imported when the crashed claim was this run’s, and replaces an incomplete message', async () => {
    const { fake, mailbox, staging, ledger, make } = setup({ leaseInMs: 1 });
    const a = media('pic', 1000);
    const email = sampleEmail('mms-crash', [a.descriptor]);
    staging.add(email, { pic: a.bytes });
    await ledger.claim(mailbox.objectId, email.itemKey, { runId: 'run-1', owner: 'dead', leaseInMs: 1 });
    fake.messages.get(mailbox.objectId)!.push({
      id: 'half-done',
      folderId: fake.archiveFolder(mailbox.objectId),
      json: { singleValueExtendedProperties: [{ id: 'String {e264df5e-3813-4e29-bc56-d084eb5a95a3} Name O2ArchiverItemId', value: 'mms-crash' }] },
      attachments: [],
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const results = await make().importUnits('run-1', mailbox, [unitOf(email)]);
    expect(results[0]).toMatchObject({ outcome: 'imported' });
    const left = fake.messagesOf(mailbox.objectId).filter((m) => m.id !== 'half-done');
    expect(fake.messagesOf(mailbox.objectId).some((m) => m.id === 'half-done')).toBe(false);
    expect(left).toHaveLength(1);
    expect(left[0].attachments.map((x) => x.name)).toEqual(['pic.bin']);
  });

  it('does not create a second message when Graph carried out a create but its answer was lost', async () => {
    const { fake, mailbox, staging, importer } = setup();
    const email = sampleEmail('sms-lost-answer');
    staging.add(email);
    fake.fail({ method: 'POST', path: /\/mailFolders\/[^/]+\/messages$/, status: 504, code: 'GatewayTimeout', afterExecution: true });
    const results = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
    expect(results[0]).toMatchObject({ outcome: 'imported' });
    expect(fake.countWithItemId(mailbox.objectId, 'sms-lost-answer')).toBe(1);
  });

  it('reports partial, keeps the message and lists the refused attachment with size and SHA-256 in its body', async () => {
    const { fake, mailbox, staging, importer, ledger } = setup();
    fake.refuseSeparateAttachments = true;
    const small = media('small', 2_000, 2);
    const big = media('big', 5_000_000, 3);
    const email = sampleEmail('mms-partial', [small.descriptor, big.descriptor]);
    staging.add(email, { small: small.bytes, big: big.bytes });
    const [result] = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
    expect(result).toMatchObject({ outcome: 'partial', reason: 'attachment-refused' });
    expect(result.outcome === 'partial' && result.detail).toContain(big.descriptor.sha256);
    const messages = fake.messagesOf(mailbox.objectId);
    expect(messages).toHaveLength(1);
    expect(messages[0].attachments.map((a) => a.name)).toEqual(['small.bin']);
    const body = (messages[0].json.body as { content: string }).content;
    expect(body).toContain(`big.bin (5000000 bytes, SHA-256 ${big.descriptor.sha256})`);
    expect(body).not.toContain('small.bin (');
    expect((await ledger.get(mailbox.objectId, email.itemKey))?.state).toBe('partial');
  });

  it('uploads a large attachment by an upload session, in order, without an Authorization header', async () => {
    const { fake, mailbox, staging, importer } = setup();
    const big = media('video', 9_000_000, 4);
    const email = sampleEmail('mms-big', [big.descriptor]);
    staging.add(email, { video: big.bytes });
    const [result] = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
    expect(result).toMatchObject({ outcome: 'imported' });
    expect(fake.messagesOf(mailbox.objectId)[0].attachments).toEqual([{ name: 'video.bin', size: 9_000_100 }]);
    expect(fake.uploadAuthHeaders).toBe(0);
  });

  it('in importMime mode, imports an email whose .eml is too large for one request the JSON way, without reading the .eml', async () => {
    const { fake, mailbox, staging, make } = setup();
    const big = media('video', 9_000_000, 5);
    const email = { ...sampleEmail('mms-big-mime', [big.descriptor]), emlSizeInBytes: 12_200_000 };
    // No message.eml staged: reading it would fail the unit.
    staging.add(email, { video: big.bytes });
    const [result] = await make({ importMode: 'importMime' }).importUnits('run-1', mailbox, [unitOf(email)]);
    expect(result).toMatchObject({ outcome: 'imported' });
    expect(fake.messagesOf(mailbox.objectId)[0].attachments).toEqual([{ name: 'video.bin', size: 9_000_100 }]);
  });

  it('never has more than 4 requests in flight for one mailbox', async () => {
    const { fake, mailbox, staging, importer } = setup({ maxConcurrentPerMailbox: 4 });
    const emails = Array.from({ length: 24 }, (_, i) => sampleEmail(`sms-c-${i}`));
    for (const e of emails) staging.add(e);
    const results = await importer.importUnits('run-1', mailbox, emails.map(unitOf));
    expect(results.every((r) => r.outcome === 'imported')).toBe(true);
    expect(fake.maxInFlight.get(mailbox.objectId)).toBeLessThanOrEqual(4);
    expect(fake.maxInFlight.get(mailbox.objectId)).toBeGreaterThan(1);
  });

  it('holds to a lower concurrency setting too', async () => {
    const { fake, mailbox, staging, importer } = setup({ maxConcurrentPerMailbox: 2 });
    const emails = Array.from({ length: 10 }, (_, i) => sampleEmail(`sms-d-${i}`));
    for (const e of emails) staging.add(e);
    await importer.importUnits('run-1', mailbox, emails.map(unitOf));
    expect(fake.maxInFlight.get(mailbox.objectId)).toBeLessThanOrEqual(2);
  });

  it('waits the Retry-After of a 429 (scaled) before trying again', async () => {
    const { fake, mailbox, staging, importer, sleeps } = setup();
    const email = sampleEmail('sms-429');
    staging.add(email);
    fake.fail({ method: 'POST', path: /\/messages$/, status: 429, code: 'ApplicationThrottled', retryAfterInSeconds: 7 });
    const [result] = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
    expect(result).toMatchObject({ outcome: 'imported' });
    expect(sleeps).toContain(7000 * SCALE);
    const creates = fake.log.filter((l) => l.method === 'POST' && /\/messages$/.test(l.path)).map((l) => l.status);
    expect(creates).toEqual([429, 201]);
  });

  it('fails every unit with mailbox-not-found when Graph does not know the mailbox', async () => {
    const { mailbox, staging, importer } = setup();
    const email = sampleEmail('sms-nobody');
    staging.add(email);
    const results = await importer.importUnits('run-1', { ...mailbox, objectId: '00000000-0000-0000-0000-00000000dead' }, [unitOf(email)]);
    expect(results).toEqual([{ itemKey: email.itemKey, outcome: 'failed', reason: 'mailbox-not-found', detail: expect.stringContaining('404') }]);
  });

  it('marks a failure a later attempt could change as transient (the mail-folder look-up too), and a refusal as final', async () => {
    const { fake, mailbox, staging, importer } = setup();
    const [a, b, c] = ['sms-t1', 'sms-t2', 'sms-t3'].map((id) => sampleEmail(id));
    [a, b, c].forEach((e) => staging.add(e));
    fake.fail({ method: 'GET', path: /\/mailFolders$/, status: 503, code: 'ServiceUnavailable', times: 100 });
    const folderDown = await importer.importUnits('run-1', mailbox, [unitOf(a), unitOf(b)]);
    expect(folderDown).toEqual([a, b].map((e) => expect.objectContaining({ itemKey: e.itemKey, outcome: 'failed', reason: 'graph-error', transient: true, detail: expect.stringMatching(/^mail folder: status 503/) })));
    fake.rules.length = 0;
    fake.fail({ method: 'POST', path: /\/messages$/, status: 400, code: 'ErrorInvalidRequest', times: 1 });
    const [refused] = await importer.importUnits('run-1', mailbox, [unitOf(c)]);
    expect(refused).toMatchObject({ outcome: 'failed', reason: 'graph-error' });
    expect(refused).not.toHaveProperty('transient');
  });

  it('fails with graph-error, status and code in the detail, when the retry budget runs out, and frees the unit', async () => {
    const { fake, mailbox, staging, importer, ledger } = setup();
    const email = sampleEmail('sms-503');
    staging.add(email);
    fake.fail({ method: 'POST', path: /\/messages$/, status: 503, code: 'ServiceUnavailable', times: 100 });
    const [result] = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
    expect(result).toMatchObject({ outcome: 'failed', reason: 'graph-error' });
    expect(result.outcome === 'failed' && result.detail).toMatch(/status 503 ServiceUnavailable/);
    // Freed at once, and known to have left nothing behind (503 means not carried out): the next worker imports without looking first.
    const row = await ledger.get(mailbox.objectId, email.itemKey);
    expect(row).toMatchObject({ state: 'claimed', copyMayExist: false });
    expect(Date.parse(row!.leaseExpiresAt)).toBeLessThanOrEqual(Date.now());
    fake.rules.length = 0;
    const lookups = () => fake.log.filter((l) => l.method === 'GET' && /\/messages$/.test(l.path)).length;
    const before = lookups();
    const [again] = await importer.importUnits('run-2', mailbox, [unitOf(email)]);
    expect(again.outcome).toBe('imported');
    expect(lookups()).toBe(before);
    expect(fake.countWithItemId(mailbox.objectId, 'sms-503')).toBe(1);
  });

  it('creates the folder once when two imports race for it (409 ErrorFolderExists)', async () => {
    const { fake, mailbox, staging, make } = setup();
    const a = sampleEmail('sms-f1');
    const b = sampleEmail('sms-f2');
    staging.add(a);
    staging.add(b);
    const [ra, rb] = await Promise.all([make().importUnits('run-1', mailbox, [unitOf(a)]), make().importUnits('run-1', mailbox, [unitOf(b)])]);
    expect([ra[0].outcome, rb[0].outcome]).toEqual(['imported', 'imported']);
    expect(fake.folders.get(mailbox.objectId)!.filter((f) => f.displayName === 'O2 SMS and Voice Network Archiver')).toHaveLength(1);
  });
});

describe('mailbox importer: writes whose answer was lost (fake Graph)', () => {
  const UPLOAD = /^\/sessions\//;

  it.each(['answer', 'refuse'] as const)(
    'resumes an upload session after a chunk landed but its answer was lost (session status: %s)',
    async (mode) => {
      const { fake, mailbox, staging, importer } = setup();
      fake.uploadStatus = mode;
      const big = media('video', 9_000_000, 5);
      const email = sampleEmail(`mms-lost-chunk-${mode}`, [big.descriptor]);
      staging.add(email, { video: big.bytes });
      fake.fail({ method: 'PUT', path: UPLOAD, status: 504, code: 'GatewayTimeout', afterExecution: true });
      const [result] = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
      expect(result).toMatchObject({ outcome: 'imported' });
      expect(fake.messagesOf(mailbox.objectId)).toHaveLength(1);
      expect(fake.messagesOf(mailbox.objectId)[0].attachments).toEqual([{ name: 'video.bin', size: 9_000_100 }]);
      expect(fake.log.some((l) => l.method === 'GET' && UPLOAD.test(l.path))).toBe(true);
    },
  );

  it.each(['answer', 'refuse'] as const)('finds the attachment when the final chunk landed but its answer was lost (session status: %s)', async (mode) => {
    const { fake, mailbox, staging, importer } = setup();
    fake.uploadStatus = mode;
    const big = media('video', 9_000_000, 6);
    const email = sampleEmail(`mms-lost-final-${mode}`, [big.descriptor]);
    staging.add(email, { video: big.bytes });
    // 9,000,000 bytes go in three ranges; the third one completes the session.
    fake.fail({ method: 'PUT', path: UPLOAD, status: 502, code: 'BadGateway', afterExecution: true, skip: 2 });
    const [result] = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
    expect(result).toMatchObject({ outcome: 'imported' });
    expect(fake.messagesOf(mailbox.objectId)[0].attachments).toEqual([{ name: 'video.bin', size: 9_000_100 }]);
  });

  it('opens one more session, not a second attachment, when opening a session lost its answer', async () => {
    const { fake, mailbox, staging, importer } = setup();
    const big = media('video', 5_000_000, 7);
    const email = sampleEmail('mms-lost-session', [big.descriptor]);
    staging.add(email, { video: big.bytes });
    fake.fail({ method: 'POST', path: /createUploadSession$/, status: 500, code: 'InternalServerError', afterExecution: true });
    const [result] = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
    expect(result).toMatchObject({ outcome: 'imported' });
    expect(fake.messagesOf(mailbox.objectId)[0].attachments).toEqual([{ name: 'video.bin', size: 5_000_100 }]);
  });

  it('does not add an attachment twice when its POST landed but the answer was lost', async () => {
    const { fake, mailbox, staging, importer } = setup();
    // Two files of 2.5 MB: the first goes inline, the second by a POST of its own.
    const a = media('one', 2_500_000, 8);
    const b = media('two', 2_500_000, 9);
    const email = sampleEmail('mms-lost-post', [a.descriptor, b.descriptor]);
    staging.add(email, { one: a.bytes, two: b.bytes });
    fake.fail({ method: 'POST', path: /\/attachments$/, status: 504, code: 'GatewayTimeout', afterExecution: true });
    const [result] = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
    expect(result).toMatchObject({ outcome: 'imported' });
    expect(fake.messagesOf(mailbox.objectId)[0].attachments.map((x) => x.name).sort()).toEqual(['one.bin', 'two.bin']);
  });

  it('still reports partial for a refusal that no retry changes', async () => {
    const { fake, mailbox, staging, importer } = setup();
    const big = media('video', 5_000_000, 10);
    const email = sampleEmail('mms-refused-range', [big.descriptor]);
    staging.add(email, { video: big.bytes });
    fake.fail({ method: 'POST', path: /createUploadSession$/, status: 400, code: 'ErrorAttachmentSizeShouldNotBeGreaterThanMaximumSize', times: 5 });
    const [result] = await importer.importUnits('run-1', mailbox, [unitOf(email)]);
    expect(result).toMatchObject({ outcome: 'partial', reason: 'attachment-refused' });
  });
});
