/** The importer, directory and check against the strict Graph emulator (HTTPS, self-signed cert, token demanded). */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGraphEmulator, type GraphEmulator } from '../../local/emulators/graph';
import { checkGraph } from '../../shared/platform/graph/check';
import { createGraphClient } from '../../shared/platform/graph/client';
import { createGraphDirectory } from '../../shared/platform/graph/directory';
import { createMailboxImporter, type MailboxImporterOptions } from '../../shared/stages/import/importer';
import { createLedger } from '../../shared/stages/import/ledger';
import type { ArchivedAttachment, ArchivedEmail, ImportUnit, ResolvedMailbox } from '../../shared/model/stages';
import { testSettings, testStorage, uniqueName } from '../support/storage';
import { FakeStaging, sampleEmail } from './fakeGraph';

const SCALE = 0.001;
let emulator: GraphEmulator;
let caPath: string;

beforeAll(async () => {
  emulator = await startGraphEmulator({
    users: [
      { displayName: 'Alice Smith', userPrincipalName: 'alice@contoso.com', mail: 'Alice.Smith@contoso.com', proxyAddresses: ['SMTP:Alice.Smith@contoso.com', 'smtp:asmith@contoso.co.uk'] },
      { displayName: 'Bob Jones', userPrincipalName: 'bob@contoso.com', mail: 'bob@contoso.com' },
      { displayName: 'No Mailbox', userPrincipalName: 'nomail@contoso.com', mail: null, hasMailbox: false },
    ],
    limits: { timeScale: SCALE },
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'graph-ca-'));
  caPath = path.join(dir, 'ca.pem');
  writeFileSync(caPath, emulator.caCertPem);
});

afterAll(async () => {
  await emulator?.stop();
});

function settings(extra: Record<string, string> = {}) {
  return testSettings({
    GRAPH_BASE_URL: emulator.url,
    GRAPH_DEV_TOKEN: emulator.token,
    GRAPH_CA_CERT_PATH: caPath,
    RETRY_TIME_SCALE: String(SCALE),
    ...extra,
  });
}

function user(upn: string): ResolvedMailbox {
  const u = emulator.store.findUser(upn)!;
  return { objectId: u.id, userPrincipalName: u.userPrincipalName };
}

function media(id: string, size: number, fill: number): { descriptor: ArchivedAttachment; bytes: Buffer } {
  const bytes = Buffer.alloc(size, fill);
  return {
    bytes,
    descriptor: { mediaId: id, fileName: `${id}.bin`, contentType: 'application/octet-stream', size, sha256: createHash('sha256').update(bytes).digest('hex') },
  };
}

function importer(staging: FakeStaging, options: Partial<MailboxImporterOptions> = {}) {
  const graph = createGraphClient(settings());
  const ledger = createLedger(testStorage().table(uniqueName('ledger')));
  return {
    ledger,
    make: (extra: Partial<MailboxImporterOptions> = {}) =>
      createMailboxImporter({ graph, ledger, staging, options: { folderName: 'O2 SMS and Voice Network Archiver', timeScale: SCALE, ...options, ...extra } }),
  };
}

const unitOf = (e: ArchivedEmail): ImportUnit => ({ itemKey: e.itemKey, itemId: e.itemId, itemType: e.itemType, email: e });

/** A plain-text .eml of an SMS, as the converter would store it (for the importMime tests). */
function plainEml(sms: { messageId: string; itemId: string }): Buffer {
  return Buffer.from(
    [
      'Message-ID: ' + sms.messageId,
      'Date: Wed, 01 May 2024 10:11:12 +0000',
      'From: Bob <447700900123@mobile.invalid>',
      'To: Alice <alice@contoso.com>',
      `Subject: SMS ${sms.itemId}`,
      `X-O2Archiver-Item-Id: ${sms.itemId}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'hello',
      '',
    ].join('\r\n'),
  );
}

describe('Graph client against the emulator', () => {
  it('reaches the emulator over https with the token only when the emulator’s certificate is trusted', async () => {
    const trusted = createGraphClient(settings());
    const page = await trusted.call('list users', (sdk) => sdk.api('/users').select('id').get() as Promise<{ value: unknown[] }>);
    expect(page.value.length).toBeGreaterThan(0);
    const untrusted = createGraphClient(testSettings({ GRAPH_BASE_URL: emulator.url, GRAPH_DEV_TOKEN: emulator.token, RETRY_TIME_SCALE: String(SCALE) }), {
      retryProfile: { name: 'once', maxAttempts: 1, initialDelayInMs: 1, maxDelayInMs: 1, maxElapsedInMs: 1 },
    });
    await expect(untrusted.call('list users', (sdk) => sdk.api('/users').get())).rejects.toThrow(/no response|certificate/i);
    const wrongToken = createGraphClient(testSettings({ GRAPH_BASE_URL: emulator.url, GRAPH_DEV_TOKEN: 'wrong', GRAPH_CA_CERT_PATH: caPath }));
    await expect(wrongToken.call('list users', (sdk) => sdk.api('/users').get())).rejects.toMatchObject({ statusCode: 401 });
  });

  it('passes checkGraph with a real read of a user and a folder list', async () => {
    const result = await checkGraph(settings(), { mailbox: 'bob@contoso.com' });
    expect(result.ok).toBe(true);
    expect(result.lines.join('\n')).toMatch(/OK\s+list mail folders of bob@contoso.com/);
    const missing = await checkGraph(settings(), { mailbox: 'nomail@contoso.com' });
    expect(missing.ok).toBe(false);
  });
});

describe('user directory against the emulator', () => {
  it('finds users by UPN, primary SMTP and proxy address in any case, and not others', async () => {
    const directory = createGraphDirectory(createGraphClient(settings()), { timeScale: SCALE });
    const alice = emulator.store.findUser('alice@contoso.com')!;
    const found = await directory.findUsers(['ALICE@contoso.com', 'alice.smith@CONTOSO.com', 'ASmith@contoso.co.uk', 'nobody@contoso.com', 'bob@contoso.com']);
    expect(found.get('alice@contoso.com')?.id).toBe(alice.id);
    expect(found.get('alice.smith@contoso.com')?.id).toBe(alice.id);
    expect(found.get('asmith@contoso.co.uk')?.id).toBe(alice.id);
    expect(found.get('bob@contoso.com')?.userPrincipalName).toBe('bob@contoso.com');
    expect(found.has('nobody@contoso.com')).toBe(false);
  });

  it('looks up more than 20 addresses (several batches) and caches the answers', async () => {
    const graph = createGraphClient(settings());
    const directory = createGraphDirectory(graph, { timeScale: SCALE });
    const addresses = [...Array.from({ length: 30 }, (_, i) => `ghost${i}@contoso.com`), 'bob@contoso.com'];
    const before = emulator.stats().requests;
    const found = await directory.findUsers(addresses);
    expect([...found.keys()]).toEqual(['bob@contoso.com']);
    const used = emulator.stats().requests - before;
    // Two $batch calls of at most 20 lookups each, not 31 single GETs.
    expect(used).toBe(2);
    const again = await directory.findUsers(addresses);
    expect(again.size).toBe(1);
    expect(emulator.stats().requests - before).toBe(used);
  });
});

describe('mailbox importer against the emulator', () => {
  it('imports once with small and large attachments; a second run reports duplicates', async () => {
    const staging = new FakeStaging();
    const small = media('photo', 50_000, 5);
    const big = media('video', 6_000_000, 6);
    const sms = sampleEmail('emu-sms-1');
    const mms = sampleEmail('emu-mms-1', [small.descriptor, big.descriptor]);
    staging.add(sms);
    staging.add(mms, { photo: small.bytes, video: big.bytes });
    const { make } = importer(staging);
    const mailbox = user('alice@contoso.com');
    const first = await make().importUnits('run-1', mailbox, [unitOf(sms), unitOf(mms)]);
    expect(first.map((r) => r.outcome)).toEqual(['imported', 'imported']);
    const messages = emulator.store.listMessages('alice@contoso.com', 'O2 SMS and Voice Network Archiver');
    const imported = messages.find((m) => emulator.store.itemIdOf(m) === 'emu-mms-1')!;
    expect(imported.isDraft).toBe(false);
    expect(imported.attachments.map((a) => a.name).sort()).toEqual(['photo.bin', 'video.bin']);
    expect(Buffer.from(imported.attachments.find((a) => a.name === 'video.bin')!.contentBase64, 'base64').equals(big.bytes)).toBe(true);
    const second = await make().importUnits('run-2', mailbox, [unitOf(sms), unitOf(mms)]);
    expect(second.map((r) => r.outcome)).toEqual(['duplicate', 'duplicate']);
    expect(emulator.store.listMessages('alice@contoso.com').filter((m) => emulator.store.itemIdOf(m) === 'emu-mms-1')).toHaveLength(1);
  });

  it('reports partial with the missing list in the body when Graph refuses attachments on a non-draft message', async () => {
    emulator.setOption('nonDraftAttachments', 'refuse');
    try {
      const staging = new FakeStaging();
      const small = media('note', 1_000, 7);
      const big = media('recording', 5_000_000, 8);
      const mms = sampleEmail('emu-mms-partial', [small.descriptor, big.descriptor]);
      staging.add(mms, { note: small.bytes, recording: big.bytes });
      const { make, ledger } = importer(staging);
      const mailbox = user('bob@contoso.com');
      const [result] = await make().importUnits('run-1', mailbox, [unitOf(mms)]);
      expect(result).toMatchObject({ outcome: 'partial', reason: 'attachment-refused' });
      const messages = emulator.store.listMessages('bob@contoso.com').filter((m) => emulator.store.itemIdOf(m) === 'emu-mms-partial');
      expect(messages).toHaveLength(1);
      expect(messages[0].attachments.map((a) => a.name)).toEqual(['note.bin']);
      expect(messages[0].body.content).toContain(`recording.bin (5000000 bytes, SHA-256 ${big.descriptor.sha256})`);
      expect((await ledger.get(mailbox.objectId, mms.itemKey))?.state).toBe('partial');
    } finally {
      emulator.setOption('nonDraftAttachments', 'allow');
    }
  });

  it('keeps to 4 requests in flight per mailbox while the emulator holds each request', async () => {
    emulator.setOption('latencyInMs', 15);
    try {
      const staging = new FakeStaging();
      const emails = Array.from({ length: 16 }, (_, i) => sampleEmail(`emu-c-${i}`));
      for (const e of emails) staging.add(e);
      const { make } = importer(staging);
      const mailbox = user('bob@contoso.com');
      emulator.resetStats();
      const results = await make().importUnits('run-1', mailbox, emails.map(unitOf));
      expect(results.every((r) => r.outcome === 'imported')).toBe(true);
      const stats = emulator.stats().mailboxes[mailbox.objectId];
      expect(stats.maxConcurrency).toBeLessThanOrEqual(4);
      expect(stats.throttled.concurrency).toBe(0);
    } finally {
      emulator.setOption('latencyInMs', 0);
    }
  });

  it('honours a 429 Retry-After and still imports once', async () => {
    const staging = new FakeStaging();
    const sms = sampleEmail('emu-429');
    staging.add(sms);
    const { make } = importer(staging);
    const mailbox = user('alice@contoso.com');
    emulator.failNext({ method: 'POST', pathPattern: /\/messages$/, status: 429, code: 'ApplicationThrottled', retryAfterInSeconds: 3 });
    const [result] = await make().importUnits('run-1', mailbox, [unitOf(sms)]);
    expect(result.outcome).toBe('imported');
    expect(emulator.store.listMessages('alice@contoso.com').filter((m) => emulator.store.itemIdOf(m) === 'emu-429')).toHaveLength(1);
  });

  it('fails units of a user without a mailbox as mailbox-not-found', async () => {
    const staging = new FakeStaging();
    const sms = sampleEmail('emu-nomail');
    staging.add(sms);
    const { make } = importer(staging);
    const [result] = await make().importUnits('run-1', user('nomail@contoso.com'), [unitOf(sms)]);
    expect(result).toMatchObject({ outcome: 'failed', reason: 'mailbox-not-found' });
  });

  it('imports by the beta importMime action when asked, marking the message so that recovery finds it', async () => {
    const staging = new FakeStaging();
    const sms = sampleEmail('emu-mime-1');
    staging.add(sms);
    staging.blobs.set(`${sms.itemKey}/message.eml`, plainEml(sms));
    const { make } = importer(staging, { importMode: 'importMime' });
    const mailbox = user('bob@contoso.com');
    const [result] = await make().importUnits('run-1', mailbox, [unitOf(sms)]);
    expect(result.outcome).toBe('imported');
    const found = emulator.store.listMessages('bob@contoso.com').filter((m) => emulator.store.itemIdOf(m) === 'emu-mime-1');
    expect(found).toHaveLength(1);
    expect(found[0].isDraft).toBe(false);
    const [again] = await make().importUnits('run-2', mailbox, [unitOf(sms)]);
    expect(again.outcome).toBe('duplicate');
  });

  it('does not import the MIME twice when the beta importMime landed but its answer was lost', async () => {
    const staging = new FakeStaging();
    const sms = sampleEmail('emu-mime-lost');
    staging.add(sms);
    staging.blobs.set(`${sms.itemKey}/message.eml`, plainEml(sms));
    const { make } = importer(staging, { importMode: 'importMime' });
    const mailbox = user('bob@contoso.com');
    emulator.failNext({ method: 'POST', pathPattern: /importMime$/, status: 504, code: 'GatewayTimeout', afterExecution: true });
    const [result] = await make().importUnits('run-1', mailbox, [unitOf(sms)]);
    expect(result.outcome).toBe('imported');
    const found = emulator.store.listMessages('bob@contoso.com').filter((m) => m.internetMessageId === sms.messageId);
    expect(found).toHaveLength(1);
    expect(emulator.store.itemIdOf(found[0])).toBe('emu-mime-lost');
  });
});
