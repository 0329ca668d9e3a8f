/**
 * The canary against the Graph emulator: on Graph as documented it confirms
 * every behaviour; with each of the emulator's behaviour switches (what a
 * tenant may do instead) it reports exactly that behaviour as different,
 * with the setting to use, and confirms the rest; and whatever happens it
 * deletes the canary for good (permanentDelete: nothing in Deleted Items),
 * or says to delete it by hand.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGraphEmulator, type GraphEmulator, type RuntimeOptions } from '../../local/emulators/graph';
import { CANARY_CHECKS, runCanary, type CanaryCheckName, type CanaryResult } from '../../shared/stages/import/canary';
import type { Settings } from '../../shared/platform/config';
import { testSettings } from '../support/storage';
import { users } from '../emulators/graph/fixtures';

const MAILBOX = 'bob@contoso.test';

let emulator: GraphEmulator;
let settings: Settings;

beforeAll(async () => {
  emulator = await startGraphEmulator({ users, token: 'canary-token', faultRate: 0 });
  const caPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'o2-canary-')), 'ca.pem');
  writeFileSync(caPath, emulator.caCertPem);
  settings = testSettings({ GRAPH_BASE_URL: emulator.url, GRAPH_DEV_TOKEN: emulator.token, GRAPH_CA_CERT_PATH: caPath, RETRY_TIME_SCALE: '0.01' });
});

afterAll(async () => {
  await emulator?.stop();
});

const noWait = async () => undefined;

function outcomes(result: CanaryResult): Record<string, string> {
  return Object.fromEntries(result.checks.map((c) => [c.name, c.outcome]));
}

/** Canary messages left anywhere in the mailbox (every folder, Deleted Items included). */
function canariesLeft(): string[] {
  return emulator.store
    .listMessages(MAILBOX)
    .map((m) => emulator.store.itemIdOf(m))
    .filter((id) => id.startsWith('o2-archiver-canary-'));
}

describe('the canary on Graph as documented', () => {
  it('confirms every behaviour, in order, and leaves nothing behind', async () => {
    const result = await runCanary(settings, MAILBOX, { sleep: noWait });
    expect(result.checks.map((c) => c.name)).toEqual([...CANARY_CHECKS]);
    expect(result.checks.filter((c) => c.outcome !== 'confirmed')).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.lines.at(-1)).toBe(`canary: ${CANARY_CHECKS.length} confirmed, 0 differ, 0 failed, 0 skipped`);
    expect(result.lines.filter((l) => l.startsWith('confirmed '))).toHaveLength(CANARY_CHECKS.length);
    expect(canariesLeft()).toEqual([]);
    // It worked in the archive folder, where the importer works.
    expect(emulator.store.listFolders(MAILBOX).map((f) => f.displayName)).toContain(settings.ARCHIVE_FOLDER_NAME);
  });
});

describe('the canary on a tenant that behaves otherwise (each emulator switch)', () => {
  const cases: { option: keyof RuntimeOptions; value: string; reset: string; differs: CanaryCheckName[]; advice: RegExp; detail: RegExp }[] = [
    { option: 'messageFlagsAtCreate', value: 'ignore', reset: 'honour', differs: ['not-a-draft'], advice: /GRAPH_IMPORT_MODE=importMime/, detail: /draft/ },
    { option: 'deliveryTime', value: 'ignore', reset: 'honour', differs: ['received-time'], advice: /GRAPH_IMPORT_MODE=importMime/, detail: /receivedDateTime is \S+, not the item's/ },
    {
      option: 'extendedPropertyFilter', value: 'refuse', reset: 'supported', differs: ['filter-named-property'], advice: /GRAPH_IMPORT_MODE=importMime/,
      detail: /refused the filter: status 400 ErrorInvalidUrlQueryFilter/,
    },
    {
      option: 'nonDraftAttachments', value: 'refuse', reset: 'allow', differs: ['attachment-post', 'attachment-upload-session'], advice: /partial/,
      detail: /refused it: status 400 ErrorInvalidOperation/,
    },
  ];

  it.each(cases)("with $option '$value' reports $differs as different, says what to do, and confirms the rest", async ({ option, value, reset, differs, advice, detail }) => {
    emulator.setOption(option, value as never);
    try {
      const result = await runCanary(settings, MAILBOX, { sleep: noWait });
      const expected = Object.fromEntries(CANARY_CHECKS.map((name) => [name, differs.includes(name) ? 'differs' : 'confirmed']));
      expect(outcomes(result)).toEqual(expected);
      expect(result.ok).toBe(false);
      for (const check of result.checks.filter((c) => c.outcome === 'differs')) {
        expect(check.advice).toMatch(advice);
        expect(check.detail).toMatch(detail);
      }
      for (const name of differs) expect(result.lines.some((l) => l.startsWith('DIFFERS ') && advice.test(l))).toBe(true);
      expect(canariesLeft()).toEqual([]);
    } finally {
      emulator.setOption(option, reset as never);
    }
  });
});

describe('the canary on a tenant whose $filter lags (emulator filterLagInMs)', () => {
  it('confirms the filters once they find the message, and says how long the importer must wait before it looks', async () => {
    emulator.setOption('filterLagInMs', 3000);
    try {
      const result = await runCanary(settings, MAILBOX, { findWaitsInMs: Array(20).fill(250) });
      expect(result.ok).toBe(true);
      // The first filter waits the lag out; by the second, the message is long visible.
      const check = result.checks.find((c) => c.name === 'filter-named-property')!;
      expect(check.outcome).toBe('confirmed');
      expect(check.detail).toMatch(/^found \d+\.\d s after the create, not yet at \d+\.\d s$/);
      expect(Number(/at (\d+) or more/.exec(check.advice ?? '')?.[1])).toBeGreaterThanOrEqual(3);
      expect(check.advice).toMatch(/GRAPH_LOOKUP_SETTLE_SECONDS/);
      expect(result.checks.find((c) => c.name === 'filter-internet-message-id')).toMatchObject({ outcome: 'confirmed' });
      expect(canariesLeft()).toEqual([]);
    } finally {
      emulator.setOption('filterLagInMs', 0);
    }
  });

  it('reports the filters as different when they do not find it within the canary\'s wait', async () => {
    emulator.setOption('filterLagInMs', 60_000);
    try {
      const result = await runCanary(settings, MAILBOX, { findWaitsInMs: [50, 50] });
      expect(outcomes(result)).toMatchObject({ 'filter-named-property': 'differs', 'filter-internet-message-id': 'differs', 'permanent-delete': 'confirmed' });
      expect(result.checks.find((c) => c.name === 'filter-named-property')!.detail).toMatch(/found nothing in 0\.1 s/);
      expect(canariesLeft()).toEqual([]);
    } finally {
      emulator.setOption('filterLagInMs', 0);
    }
  });
});

describe('the canary when calls fail', () => {
  it('still deletes the canary for good when a check in between fails', async () => {
    emulator.failNext({ method: 'POST', pathPattern: /\/attachments$/, status: 403, code: 'ErrorAccessDenied', message: 'Access is denied.' });
    const result = await runCanary(settings, MAILBOX, { sleep: noWait });
    expect(outcomes(result)).toMatchObject({ 'attachment-post': 'failed', 'attachment-upload-session': 'confirmed', 'permanent-delete': 'confirmed' });
    expect(result.ok).toBe(false);
    expect(canariesLeft()).toEqual([]);
  });

  it("reports the session as different, and why, when Graph's upload-session minimum is above the importer's 3,000,000 bytes", async () => {
    emulator.failNext({
      method: 'POST', pathPattern: /createUploadSession$/, status: 400, code: 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize',
      message: 'Attachment size must be greater than the minimum size.',
    });
    const result = await runCanary(settings, MAILBOX, { sleep: noWait });
    const check = result.checks.find((c) => c.name === 'attachment-upload-session')!;
    expect(check).toMatchObject({ outcome: 'differs', detail: expect.stringMatching(/refused a session for 3001024 bytes/), advice: expect.stringMatching(/UPLOAD_SESSION_MIN_BYTES/) });
    expect(canariesLeft()).toEqual([]);
  });

  it('says to delete the canary by hand when the permanent delete is refused, and does not fall back to a plain DELETE', async () => {
    emulator.failNext({ method: 'POST', pathPattern: /\/permanentDelete$/i, status: 403, code: 'ErrorAccessDenied', message: 'Access is denied.' });
    const result = await runCanary(settings, MAILBOX, { sleep: noWait });
    const check = result.checks.find((c) => c.name === 'permanent-delete')!;
    expect(check).toMatchObject({ outcome: 'failed', advice: expect.stringMatching(/by hand/) });
    expect(check.detail).toMatch(/403/);
    // The canary is where it was made, not in Deleted Items.
    const left = emulator.store.listMessages(MAILBOX).filter((m) => emulator.store.itemIdOf(m).startsWith('o2-archiver-canary-'));
    expect(left).toHaveLength(1);
    expect(emulator.store.listMessages(MAILBOX, settings.ARCHIVE_FOLDER_NAME)).toContainEqual(left[0]);
    // Clean up as the admin would, so that the other tests start empty.
    expect((await runCanaryCleanup(left[0].id)).ok).toBe(true);
    expect(canariesLeft()).toEqual([]);
  });

  it('says what to fix when the mailbox refuses the create, and skips the rest', async () => {
    const result = await runCanary(settings, 'carol@contoso.test', { sleep: noWait });
    expect(result.checks[0]).toMatchObject({ name: 'create', outcome: 'failed', detail: expect.stringMatching(/MailboxNotEnabledForRESTAPI.*Mail\.ReadWrite/) });
    expect(result.checks.slice(1).every((c) => c.outcome === 'skipped')).toBe(true);
    expect(result.ok).toBe(false);
  });
});

/** Deletes one message for good through the API, as an admin would after a failed canary. */
async function runCanaryCleanup(messageId: string): Promise<{ ok: boolean }> {
  const { createGraphClient } = await import('../../shared/platform/graph/client');
  const { permanentlyDeleteMessage } = await import('../../shared/platform/graph/mailbox');
  await permanentlyDeleteMessage(createGraphClient(settings), MAILBOX, messageId);
  return { ok: true };
}
