/** A local stack for end-to-end tests: its own Azurite and emulators in a temp dir, a small sample day. */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { ContainerNames } from '../../shared/platform/names';
import { createMappingStore } from '../../shared/stages/mapping';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local/stack';
import { createLocalRunner, type LocalRunner } from '../../local/runner';

export const PROJECT_ROOT = path.resolve(__dirname, '../..');
export const SAMPLE_WINDOW = { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' };

export interface TestStack {
  stack: LocalStack;
  runner: LocalRunner;
  stateDir: string;
}

/** Starts a stack with a small sample day and the sample mapping uploaded. */
export async function startTestStack(options: Partial<LocalStackOptions> & { runnerTimeScale?: number } = {}): Promise<TestStack> {
  const stateDir = options.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'o2-stack-'));
  const stack = await startLocalStack({
    ...options,
    stateDir,
    env: { RETRY_TIME_SCALE: '0.01', QUEUE_VISIBILITY_TIMEOUT_SECONDS: '30', ...options.env },
    sample: { generatedItems: 24, bigItems: false, ...options.sample },
  });
  const runner = await createLocalRunner({ settings: stack.settings, timeScale: options.runnerTimeScale ?? 0.01 });
  const mapping = createMappingStore(runner.infra.storage.container(ContainerNames.mapping), { defaultRegion: 'GB' });
  const uploaded = await mapping.replace(readFileSync(path.join(PROJECT_ROOT, 'fixtures/mapping/telemessage-format.csv'), 'utf8'), { who: 'test' });
  if (!uploaded.ok) throw new Error('sample mapping rejected');
  return { stack, runner, stateDir };
}

/** Where a Graph emulator answers and how to reach it: the base URL with its version, the bearer token, and its CA. */
export interface GraphEndpoint {
  url: string;
  token: string;
  caCertPem: string;
}

/** One message read back through the Graph API. */
export interface MessageReadBack {
  mailbox: string;
  id: string;
  folderName: string | undefined;
  isDraft: boolean;
  receivedDateTime: string;
  internetMessageId: string;
  /** The O2ArchiverItemId named property, when the message has it. */
  itemId: string | undefined;
  /** Each attachment's name and the SHA-256 of its bytes (from `/$value`). */
  attachments: { name: string; sha256: string }[];
}

const ITEM_ID_PROPERTY_ID = 'String {e264df5e-3813-4e29-bc56-d084eb5a95a3} Name O2ArchiverItemId';

/** One GET on the Graph API through node:https, trusting the endpoint's CA: JSON, or the raw bytes. */
export function graphGet(endpoint: GraphEndpoint, pathOrUrl: string): Promise<{ status: number; body: Buffer }> {
  const url = new URL(pathOrUrl.startsWith('https://') ? pathOrUrl : endpoint.url + pathOrUrl);
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'GET', ca: endpoint.caCertPem, headers: { Authorization: `Bearer ${endpoint.token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`no answer from ${url.pathname}`)));
    req.on('error', reject);
    req.end();
  });
}

async function graphJson<T>(endpoint: GraphEndpoint, pathOrUrl: string): Promise<T | undefined> {
  let { status, body } = await graphGet(endpoint, pathOrUrl);
  // A read is safe to repeat: ride out an emulator still injecting faults (bounded).
  for (let attempt = 1; attempt < 10 && [429, 500, 502, 503, 504].includes(status); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    ({ status, body } = await graphGet(endpoint, pathOrUrl));
  }
  if (status === 404) return undefined;
  if (status !== 200) throw new Error(`GET ${pathOrUrl.split('?')[0]} answered ${status}: ${body.toString('utf8').slice(0, 300)}`);
  return JSON.parse(body.toString('utf8')) as T;
}

async function graphPages<T>(endpoint: GraphEndpoint, first: string): Promise<T[] | undefined> {
  const out: T[] = [];
  for (let next: string | undefined = first; next; ) {
    const page: { value: T[]; '@odata.nextLink'?: string } | undefined = await graphJson(endpoint, next);
    if (!page) return undefined;
    out.push(...page.value);
    next = page['@odata.nextLink'];
  }
  return out;
}

/**
 * Reads every message of every mailbox of the tenant back through the Graph
 * API (users, folders, messages with the item-id named property, and with
 * `attachments: true` each attachment's bytes), as an admin's tool would.
 */
export async function readMailboxesThroughGraph(endpoint: GraphEndpoint, options: { attachments?: boolean } = {}): Promise<MessageReadBack[]> {
  const users = (await graphPages<{ id: string; userPrincipalName: string }>(endpoint, '/users?$select=id,userPrincipalName&$top=999')) ?? [];
  const out: MessageReadBack[] = [];
  const expand = encodeURIComponent(`singleValueExtendedProperties($filter=id eq '${ITEM_ID_PROPERTY_ID}')`);
  for (const user of users) {
    const u = encodeURIComponent(user.id);
    const folders = await graphPages<{ id: string; displayName: string }>(endpoint, `/users/${u}/mailFolders?$select=id,displayName&$top=100`);
    if (!folders) continue; // a directory user without a mailbox
    const messages =
      (await graphPages<{ id: string; parentFolderId: string; isDraft: boolean; receivedDateTime: string; internetMessageId: string; singleValueExtendedProperties?: { id: string; value: string }[] }>(
        endpoint,
        `/users/${u}/messages?$select=id,parentFolderId,isDraft,receivedDateTime,internetMessageId&$expand=${expand}&$top=100`,
      )) ?? [];
    for (const m of messages) {
      const attachments: MessageReadBack['attachments'] = [];
      if (options.attachments) {
        const listed = (await graphPages<{ id: string; name: string }>(endpoint, `/users/${u}/messages/${encodeURIComponent(m.id)}/attachments?$select=id,name`)) ?? [];
        for (const a of listed) {
          const raw = await graphGet(endpoint, `/users/${u}/messages/${encodeURIComponent(m.id)}/attachments/${encodeURIComponent(a.id)}/$value`);
          if (raw.status !== 200) throw new Error(`attachment $value answered ${raw.status}`);
          attachments.push({ name: a.name, sha256: createHash('sha256').update(raw.body).digest('hex') });
        }
      }
      out.push({
        mailbox: user.userPrincipalName.toLowerCase(),
        id: m.id,
        folderName: folders.find((f) => f.id === m.parentFolderId)?.displayName,
        isDraft: m.isDraft,
        receivedDateTime: m.receivedDateTime,
        internetMessageId: m.internetMessageId,
        itemId: m.singleValueExtendedProperties?.find((p) => /Name O2ArchiverItemId$/.test(p.id))?.value,
        attachments,
      });
    }
  }
  return out;
}

/** Every .eml the Graph emulator wrote under `<stateDir>/mailboxes/`, as paths relative to it. */
export function emlFiles(stateDir: string): string[] {
  const root = path.join(stateDir, 'mailboxes');
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.eml')) out.push(path.relative(root, full));
    }
  };
  walk(root);
  return out;
}

/** The contract's Message-ID of an item id: `<` + 40 hex of SHA-256 + `@o2-network-archiver>`. */
export function contractMessageId(itemId: string): string {
  return `<${createHash('sha256').update(itemId, 'utf8').digest('hex').slice(0, 40)}@o2-network-archiver>`;
}

/** An ISO time truncated to the second as Graph returns message times: `2026-11-25T13:45:10Z`. */
export function toWholeSecond(iso: string): string {
  return new Date(Math.floor(Date.parse(iso) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
