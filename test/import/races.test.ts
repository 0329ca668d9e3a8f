/**
 * Workers racing on one import unit, each interleaving ordered by the test:
 * the real importer and ledger against Azurite and the strict Graph emulator
 * (which, as Exchange, moves a DELETEd message to Deleted Items), leases
 * scaled down, and hooks that hold a worker's requests, sleeps or lease
 * renewals where the interleaving needs it. After each, the archive folder
 * holds exactly one copy of the unit or none, nothing is in Deleted Items,
 * and the ledger points at the copy that is there.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGraphEmulator, type GraphEmulator } from '../../local/emulators/graph';
import { createGraphClient, type GraphClientOptions } from '../../shared/platform/graph/client';
import { createHttpTransport, type HttpRequest } from '../../shared/platform/graph/http';
import { createFolderResolver, createMessage } from '../../shared/platform/graph/mailbox';
import { buildMessage, fileAttachment } from '../../shared/stages/import/message';
import { createMailboxImporter, type MailboxImporterOptions } from '../../shared/stages/import/importer';
import { createLedger, type Ledger } from '../../shared/stages/import/ledger';
import { createStagingStore } from '../../shared/stages/staging/store';
import type { ArchivedAttachment, ArchivedEmail, ResolvedMailbox, UnitResult } from '../../shared/model/stages';
import { testSettings, testStorage, uniqueName } from '../support/storage';
import { sampleEmail } from './fakeGraph';

const FOLDER = 'O2 SMS and Voice Network Archiver';
const SCALE = 0.001;
const LEASE_MS = 400;
let emulator: GraphEmulator;
let caPath: string;

beforeAll(async () => {
  emulator = await startGraphEmulator({
    users: [{ displayName: 'Alice Smith', userPrincipalName: 'alice@contoso.com', mail: 'alice@contoso.com' }],
    limits: { timeScale: SCALE },
  });
  caPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'graph-ca-')), 'ca.pem');
  writeFileSync(caPath, emulator.caCertPem);
});

afterAll(async () => {
  await emulator?.stop();
});

/** A promise the test resolves when the interleaving is ready for the next step. */
function latch(): { wait: Promise<void>; open: () => void; reached: Promise<void>; arrive: () => void } {
  let open!: () => void;
  let arrive!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  return { wait, open, reached, arrive };
}

const settings = () => testSettings({ GRAPH_BASE_URL: emulator.url, GRAPH_DEV_TOKEN: emulator.token, GRAPH_CA_CERT_PATH: caPath, RETRY_TIME_SCALE: String(SCALE) });

/** A Graph client for one worker; `hold` may delay a request before it is sent. */
function graphFor(options: { hold?: (request: HttpRequest) => Promise<void> | void; sleep?: GraphClientOptions['sleep'] } = {}) {
  const send = createHttpTransport({ caCertPem: emulator.caCertPem });
  return createGraphClient(settings(), {
    sleep: options.sleep,
    transport: async (request) => {
      await options.hold?.(request);
      return send(request);
    },
  });
}

let mailboxCounter = 0;

/** A fresh unit (its own item id) in Alice's mailbox, its email and media staged in Azurite, and a fresh ledger. */
async function scene(kind: 'sms' | 'mms' = 'sms') {
  const id = `race-${Date.now()}-${mailboxCounter++}`;
  const bytes = Buffer.alloc(20_000, 7);
  const attachment: ArchivedAttachment = { mediaId: 'pic', fileName: 'pic.jpg', contentType: 'image/jpeg', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  const email: ArchivedEmail = sampleEmail(id, kind === 'mms' ? [attachment] : []);
  // An MMS whose text fills the create request: its file goes by a POST of its own, a step a worker can be held at.
  if (kind === 'mms') email.text = 'x'.repeat(3_980_000);
  const storage = testStorage();
  const container = storage.container(uniqueName('staging'));
  await container.createIfNotExists();
  const staging = createStagingStore(container);
  if (kind === 'mms') await container.getBlockBlobClient(staging.mediaBlobName(email.itemKey, 'pic')).uploadData(bytes);
  const ledger = createLedger(storage.table(uniqueName('ledger')));
  const user = emulator.store.findUser('alice@contoso.com')!;
  const mailbox: ResolvedMailbox = { objectId: user.id, userPrincipalName: user.userPrincipalName };
  const unit = { itemKey: email.itemKey, itemId: email.itemId, itemType: email.itemType, email };
  const importer = (options: Partial<MailboxImporterOptions> & { graph?: ReturnType<typeof graphFor>; ledger?: Ledger } = {}) =>
    createMailboxImporter({
      graph: options.graph ?? graphFor(),
      ledger: options.ledger ?? ledger,
      staging,
      options: { folderName: FOLDER, timeScale: SCALE, leaseInMs: LEASE_MS, lookupSettleInMs: 0, ...options },
    });
  const copies = (folder = FOLDER) => emulator.store.listMessages('alice@contoso.com', folder).filter((m) => emulator.store.itemIdOf(m) === id);
  return { id, email, bytes, attachment, ledger, staging, mailbox, unit, importer, copies, deleted: () => copies('Deleted Items') };
}

type Scene = Awaited<ReturnType<typeof scene>>;

/** The promise every interleaving keeps: one copy or none in the archive folder, none in Deleted Items, the ledger on it. */
async function expectExactlyOnce(s: Scene, copies: 0 | 1 = 1): Promise<void> {
  expect(s.deleted()).toHaveLength(0);
  const archived = s.copies();
  expect(archived).toHaveLength(copies);
  const row = await s.ledger.get(s.mailbox.objectId, s.email.itemKey);
  if (copies === 1) {
    expect(row).toMatchObject({ state: 'imported', graphMessageId: archived[0].id });
    expect(archived[0].attachments.map((a) => a.name)).toEqual(s.email.attachments.map((a) => a.fileName));
  } else {
    expect(row?.state).not.toBe('imported');
  }
}

/** Creates a copy of the unit in the archive folder as an earlier worker would have; with `withAttachments` false, an MMS copy without its file. */
async function leaveCopy(s: Scene, withAttachments = true): Promise<string> {
  const graph = graphFor();
  const folderId = await createFolderResolver(graph).ensureFolder(s.mailbox.objectId, FOLDER);
  const inline = withAttachments ? s.email.attachments.map((a) => fileAttachment(a, s.bytes)) : [];
  return createMessage(graph, s.mailbox.objectId, folderId, JSON.stringify(buildMessage(s.email, { inline })));
}

/** A worker that claimed the unit and died: its lease has run out. */
async function crashedClaim(s: Scene, runId = 'run-0'): Promise<void> {
  await s.ledger.claim(s.mailbox.objectId, s.email.itemKey, { runId, owner: 'crashed', leaseInMs: 1 });
  await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('import races: each interleaving the review reproduced', () => {
  it('never records a copy in Deleted Items: the takeover looks only in the archive folder', async () => {
    const s = await scene();
    // The crashed worker's copy was deleted into Deleted Items, where it still carries the item id.
    const copy = await leaveCopy(s);
    await graphFor().call('delete', (sdk) => sdk.api(`/users/${s.mailbox.objectId}/messages/${encodeURIComponent(copy)}`).delete());
    expect(s.deleted()).toHaveLength(1);
    await crashedClaim(s);
    const [result] = await s.importer().importUnits('run-1', s.mailbox, [s.unit]);
    expect(result.outcome).toBe('imported');
    expect(s.copies()).toHaveLength(1);
    const row = await s.ledger.get(s.mailbox.objectId, s.email.itemKey);
    expect(row).toMatchObject({ state: 'imported', graphMessageId: s.copies()[0].id });
  });

  it('never takes a Deleted Items copy for a create whose answer was lost', async () => {
    const s = await scene();
    const copy = await leaveCopy(s);
    await graphFor().call('delete', (sdk) => sdk.api(`/users/${s.mailbox.objectId}/messages/${encodeURIComponent(copy)}`).delete());
    // The create fails without landing, but as a gateway error: the importer must look before sending again.
    emulator.failNext({ method: 'POST', pathPattern: /mailFolders\/[^/]+\/messages$/, status: 504 });
    const [result] = await s.importer().importUnits('run-1', s.mailbox, [s.unit]);
    expect(result.outcome).toBe('imported');
    expect(s.copies()).toHaveLength(1);
    expect((await s.ledger.get(s.mailbox.objectId, s.email.itemKey))?.graphMessageId).toBe(s.copies()[0].id);
  });

  it('keeps needing a mailbox search after a takeover fails: a later worker finds the copy instead of importing a second', async () => {
    const s = await scene('mms');
    await leaveCopy(s, true);
    const extra = await leaveCopy(s, false);
    await crashedClaim(s);
    // The worker that takes over keeps the complete copy, then fails for good removing the extra one.
    emulator.failNext({ pathPattern: new RegExp(`messages/${encodeURIComponent(extra).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), status: 403, code: 'ErrorAccessDenied' });
    const [first] = await s.importer().importUnits('run-1', s.mailbox, [s.unit]);
    expect(first).toMatchObject({ outcome: 'failed', reason: 'graph-error' });
    const [second] = await s.importer().importUnits('run-2', s.mailbox, [s.unit]);
    expect(['imported', 'duplicate']).toContain(second.outcome);
    await expectExactlyOnce(s);
  });

  it('does not remove a copy the ledger records when recording it lost its answer', async () => {
    const s = await scene();
    const ledger: Ledger = {
      ...s.ledger,
      async complete(...args) {
        await s.ledger.complete(...args);
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      },
    };
    const [result] = await s.importer({ ledger }).importUnits('run-1', s.mailbox, [s.unit]).catch(() => [undefined]);
    expect(result?.outcome).toBe('imported');
    await expectExactlyOnce(s);
  });

  it('importMime: a worker whose PATCH fails for good leaves alone the copy another worker recorded', async () => {
    const s = await scene();
    await s.staging.putItemBlob(s.email.itemKey, 'message.eml', plainEml(s.email), 'message/rfc822');
    // Worker A imports the MIME; its PATCH meets a 429, and A sleeps in its Retry-After until the test says.
    const aSleeps = latch();
    const graphA = graphFor({ sleep: async () => { aSleeps.arrive(); await aSleeps.wait; } });
    emulator.failNext({ method: 'PATCH', pathPattern: /\/messages\/[^/]+$/, status: 429, retryAfterInSeconds: 1 });
    const a = s.importer({ graph: graphA, importMode: 'importMime' }).importUnits('run-1', s.mailbox, [s.unit]);
    await aSleeps.reached;
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 2));
    // Worker B comes along while A sleeps past its lease.
    const [b] = await s.importer({ importMode: 'importMime', heldWaitInMs: 50 }).importUnits('run-2', s.mailbox, [s.unit]);
    // Then A's PATCH is refused for good.
    emulator.failNext({ method: 'PATCH', pathPattern: /\/messages\/[^/]+$/, status: 400, code: 'ErrorInvalidProperty' });
    aSleeps.open();
    const [resultA] = await a;
    // A held its claim throughout (renewed while it slept), so B stood back; A then removed its own copy, for good.
    expect(b.outcome).toBe('held');
    expect(resultA).toMatchObject({ outcome: 'failed', reason: 'graph-error' });
    await expectExactlyOnce(s, 0);
  });

  it('renews a claim while its worker waits out a Retry-After longer than the lease: the other worker holds off, one copy stays', async () => {
    const s = await scene('mms');
    const aSleeps = latch();
    const graphA = graphFor({ sleep: async () => { aSleeps.arrive(); await aSleeps.wait; } });
    emulator.failNext({ method: 'POST', pathPattern: /\/attachments$/, status: 429, retryAfterInSeconds: 1 });
    const a = s.importer({ graph: graphA }).importUnits('run-1', s.mailbox, [s.unit]);
    await aSleeps.reached;
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 2));
    const [b] = await s.importer({ heldWaitInMs: 50 }).importUnits('run-2', s.mailbox, [s.unit]);
    expect(b.outcome).toBe('held');
    aSleeps.open();
    const [resultA] = await a;
    expect(resultA.outcome).toBe('imported');
    await expectExactlyOnce(s);
    const [later] = await s.importer().importUnits('run-2', s.mailbox, [s.unit]);
    expect(later.outcome).toBe('duplicate');
  });

  it('a stalled worker that lost its claim removes its own half-built copy for good; the holder’s copy is the record', async () => {
    const s = await scene('mms');
    const aSleeps = latch();
    const renewals = latch();
    // Once A sleeps, it stalls: its sleep and its lease renewals wait for the test (a frozen process, a lost network).
    let stalling = false;
    const stalled: Ledger = {
      ...s.ledger,
      async renew(...args) {
        if (stalling) await renewals.wait;
        return s.ledger.renew(...args);
      },
    };
    const graphA = graphFor({ sleep: async () => { stalling = true; aSleeps.arrive(); await aSleeps.wait; } });
    emulator.failNext({ method: 'POST', pathPattern: /\/attachments$/, status: 429, retryAfterInSeconds: 1 });
    const a = s.importer({ graph: graphA, ledger: stalled }).importUnits('run-1', s.mailbox, [s.unit]);
    await aSleeps.reached;
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 2));
    // B takes the lapsed claim over, removes A's copy (it lacks its file) and imports its own.
    const [b] = await s.importer().importUnits('run-2', s.mailbox, [s.unit]);
    expect(b.outcome).toBe('imported');
    renewals.open();
    aSleeps.open();
    const [resultA] = await a;
    expect(resultA.outcome).toBe('duplicate');
    await expectExactlyOnce(s);
  });

  it('a loser whose create lands after the holder looked hands the copy over, and the holder removes it before it records', async () => {
    const s = await scene();
    const aCreate = latch();
    const bComplete = latch();
    const renewals = latch();
    let aCreates = 0;
    const stalled: Ledger = { ...s.ledger, async renew(...args) { await renewals.wait; return s.ledger.renew(...args); } };
    const heldComplete: Ledger = { ...s.ledger, async complete(...args) { bComplete.arrive(); await bComplete.wait; return s.ledger.complete(...args); } };
    // A's create is held on its way out, after its claim check passed, until the test lets it go.
    const graphA = graphFor({ hold: async (r) => { if (r.method === 'POST' && /mailFolders\/[^/]+\/messages$/.test(r.url) && aCreates++ === 0) { aCreate.arrive(); await aCreate.wait; } } });
    const a = s.importer({ graph: graphA, ledger: stalled }).importUnits('run-1', s.mailbox, [s.unit]);
    await aCreate.reached;
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS * 2));
    // B takes the lapsed claim over, looks (nothing there yet), creates its copy and is about to record it.
    const b = s.importer({ ledger: heldComplete }).importUnits('run-2', s.mailbox, [s.unit]);
    await bComplete.reached;
    aCreate.open(); // A's copy lands now, unseen by B's look-up
    renewals.open();
    const [resultA] = await a;
    expect(resultA.outcome).toBe('held');
    expect(s.copies()).toHaveLength(2);
    bComplete.open();
    const [resultB] = await b;
    expect(resultB.outcome).toBe('imported');
    await expectExactlyOnce(s);
  });

  it('waits for a unit another worker holds only a short, bounded while, then leaves it for later', async () => {
    const s = await scene('mms');
    const lease = 2_000;
    const aSleeps = latch();
    const graphA = graphFor({ sleep: async () => { aSleeps.arrive(); await aSleeps.wait; } });
    emulator.failNext({ method: 'POST', pathPattern: /\/attachments$/, status: 429, retryAfterInSeconds: 1 });
    const a = s.importer({ graph: graphA, leaseInMs: lease }).importUnits('run-1', s.mailbox, [s.unit]);
    await aSleeps.reached;
    const slept: number[] = [];
    const [b] = await s.importer({ leaseInMs: lease, sleep: async (ms) => { slept.push(ms); await new Promise((r) => setTimeout(r, ms)); } }).importUnits('run-2', s.mailbox, [s.unit]);
    expect(b.outcome).toBe('held');
    // A quarter of the lease at most, never the lease itself: a waiting activity must not outlive its function's timeout.
    expect(slept.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(lease / 4);
    aSleeps.open();
    expect((await a)[0].outcome).toBe('imported');
    await expectExactlyOnce(s);
  });

  it('finds a copy whose create lost its answer even when $filter lags the store, by waiting out the settle period', async () => {
    const lagged = async (lagInMs: number, settleInMs: number): Promise<{ result: UnitResult; copies: number }> => {
      const s = await scene();
      emulator.setOption('filterLagInMs', lagInMs);
      try {
        emulator.failNext({ method: 'POST', pathPattern: /mailFolders\/[^/]+\/messages$/, status: 504, afterExecution: true });
        const [result] = await s.importer({ lookupSettleInMs: settleInMs }).importUnits('run-1', s.mailbox, [s.unit]);
        return { result, copies: s.copies().length };
      } finally {
        emulator.setOption('filterLagInMs', 0);
      }
    };
    const settled = await lagged(300, 600);
    expect(settled).toEqual({ result: expect.objectContaining({ outcome: 'imported' }), copies: 1 });
    // The residual risk, shown: a settle period shorter than the lag would believe an empty answer and send again.
    const hasty = await lagged(5_000, 0);
    expect(hasty.copies).toBe(2);
  });
});

/** A plain-text .eml of the email, as the converter would store it (for importMime). */
function plainEml(email: ArchivedEmail): Buffer {
  return Buffer.from(
    [
      `Message-ID: ${email.messageId}`,
      'Date: Wed, 01 May 2024 10:11:12 +0000',
      'From: Bob <447700900123@mobile.invalid>',
      'To: Alice <alice@contoso.com>',
      `Subject: SMS ${email.itemId}`,
      `X-O2Archiver-Item-Id: ${email.itemId}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'hello',
      '',
    ].join('\r\n'),
  );
}
