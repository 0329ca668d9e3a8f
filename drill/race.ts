/**
 * The race drill: several `o2-archiver run` processes archive overlapping
 * windows of the same sample day at once, and each is SIGKILLed at random
 * points and started again (resuming its run) until it finishes, while
 * TeleMessage and Graph answer with seeded faults, lost answers and
 * Retry-After waits longer than the ledger's claim lease. Azurite and both
 * emulators run in processes of their own and outlive every kill.
 *
 * Then, for every import unit any run produced, it checks the promise:
 * exactly one copy in the archive folder, none in Deleted Items, the ledger
 * final and pointing at that copy, and no run calling the unit failed (or
 * leaving it without an outcome). The seed makes the kills and the faults
 * repeatable.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { startAzurite, type AzuriteHandle } from '../local/azurite';
import { SeededRandom } from '../local/emulators/telemessage/random';
import { exitWithin, PROCESS_SCRIPTS, startCliProcess, startServiceProcess, type CliProcess } from '../local/processes';
import { findProjectRoot, sampleTenant } from '../local/sample';
import { readSettings } from '../shared/platform/config';
import { createGraphClient, type GraphClient } from '../shared/platform/graph/client';
import { odataString, q, seg } from '../shared/platform/graph/mailbox';
import { ITEM_ID_PROPERTY } from '../shared/stages/import/message';
import type { RunUnitRow } from '../shared/run/runs';
import { createStorageClients } from '../shared/platform/storage';
import { poisonQueueName, QueueNames, StageOrder, TableNames } from '../shared/platform/names';
import type { TableClient } from '@azure/data-tables';

export interface RaceDrillOptions {
  seed: string;
  /** Overlapping windows of the sample day archived at once, one process each (1 to 3). */
  lanes?: number;
  /** Generated items of the sample day beside the fixtures. */
  generatedItems?: number;
  /** Share of TeleMessage and Graph requests answered with a fault. */
  faultRate?: number;
  /** Kills per lane, at most (each lane draws how many from the seed). */
  maxKillsPerLane?: number;
  /** Kills per lane, exactly (before the start that is left to finish); overrides maxKillsPerLane. */
  killsPerLane?: number;
  /**
   * Poison in every stage queue of every run as it appears: `malformed`, one
   * message that is no claim check; `all`, also a claim check of a missing
   * blob where the stage reads one (set aside only at MAX_DEQUEUE_COUNT).
   */
  poison?: 'malformed' | 'all';
  /** Overrides of the connector's settings for the runs. */
  env?: Record<string, string>;
  /** Keep the state directory (Azurite, mailboxes) for a post-mortem. */
  keepState?: boolean;
  log?: (line: string) => void;
}

export interface RaceDrillResult {
  seed: string;
  kills: number;
  unitsExpected: number;
  /** Units with exactly one copy in the archive folder, recorded by the ledger. */
  imported: number;
  /** Units with more than one copy in the archive folder. */
  duplicated: number;
  /** Units with no copy in the archive folder. */
  lost: number;
  /** Copies of any unit in Deleted Items. */
  inDeletedItems: number;
  /** Units whose ledger row is not final or names another copy. */
  ledgerMismatches: number;
  /** Units a run reported failed or left without an outcome. */
  reportedFailed: number;
  /** Poison messages put in stage queues, and how many of them ended in a poison queue (set aside, not lost). */
  poison: { injected: number; setAside: number };
  problems: string[];
  ok: boolean;
}

/** Overlapping windows of the sample day (2026-11-25): the whole day, its middle, its second half. */
const LANE_WINDOWS = [
  { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' },
  { from: '2026-11-25T06:00:00.000Z', to: '2026-11-25T18:00:00.000Z' },
  { from: '2026-11-25T12:00:00.000Z', to: '2026-11-26T00:00:00.000Z' },
];

const TOKEN = 'drill-token';
const TM_USER = 'drill-admin';
const TM_PASSWORD = 'drill-password';
/** RETRY_TIME_SCALE of the drill: a claim lease of 8 s becomes 0.4 s, a Retry-After of 12 s 0.6 s. */
const TIME_SCALE = 0.05;
const LANE_DEADLINE_MS = 10 * 60_000;

interface Stack {
  stateDir: string;
  azurite: AzuriteHandle;
  children: ChildProcess[];
  env: NodeJS.ProcessEnv;
  /** The Graph emulator's process and the arguments it ran with (verify restarts it without faults). */
  graph: { child: ChildProcess; args: string[]; base: NodeJS.ProcessEnv };
}

async function startStack(options: Required<Pick<RaceDrillOptions, 'seed' | 'generatedItems' | 'faultRate'>> & { env?: Record<string, string> }): Promise<Stack> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'o2-drill-'));
  const azurite = await startAzurite({ location: path.join(stateDir, 'azurite') });
  const children: ChildProcess[] = [];
  try {
    const tenantFile = path.join(stateDir, 'tenant.json');
    writeFileSync(tenantFile, JSON.stringify(sampleTenant().map((u) => ({ displayName: u.displayName, userPrincipalName: u.userPrincipalName, mail: u.mail, proxyAddresses: u.proxyAddresses }))));
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? stateDir };
    const graphArgs = ['--users', tenantFile, '--state-dir', stateDir, '--token', TOKEN, '--seed', options.seed, '--latency-ms', '5'];
    const graph = await startServiceProcess<{ url: string; caCertPath: string }>(
      PROCESS_SCRIPTS.graphEmulator,
      [...graphArgs, '--fault-rate', String(options.faultRate),
        // Throttling answers that outlast the claim lease (12 s against 8 s, both scaled alike); longer ones, pausing
        // the whole mailbox at a 30% fault rate, would spend a call's whole retry budget (a graph-error, not a race).
        '--fault-retry-after-seconds', '12'],
      base,
    );
    children.push(graph.child);
    const tm = await startServiceProcess<{ url: string }>(
      PROCESS_SCRIPTS.teleMessageEmulator,
      ['--generated-items', String(options.generatedItems), '--big-items', 'false', '--username', TM_USER, '--fault-rate', String(options.faultRate), '--seed', options.seed, '--duplicate-across-pages'],
      { ...base, TM_EMULATOR_PASSWORD: TM_PASSWORD },
    );
    children.push(tm.child);
    const env: NodeJS.ProcessEnv = {
      ...base,
      AzureWebJobsStorage: azurite.connectionString,
      TELEMESSAGE_BASE_URL: tm.info.url,
      TELEMESSAGE_USERNAME: TM_USER,
      TELEMESSAGE_PASSWORD: TM_PASSWORD,
      GRAPH_BASE_URL: graph.info.url,
      GRAPH_DEV_TOKEN: TOKEN,
      GRAPH_CA_CERT_PATH: graph.info.caCertPath,
      RETRY_TIME_SCALE: String(TIME_SCALE),
      IMPORT_LEASE_SECONDS: '8',
      QUEUE_VISIBILITY_TIMEOUT_SECONDS: '4',
      LOCAL_DRIVER_LEASE_SECONDS: '2',
      IMPORT_UNITS_PER_ACTIVITY: '4',
      // Kills redeliver messages many times; poisoning has a drill of its own.
      MAX_DEQUEUE_COUNT: '50',
      ...options.env,
    };
    const upload = startCliProcess(['mapping', 'upload', path.join(findProjectRoot(__dirname), 'fixtures/mapping/telemessage-format.csv')], env, stateDir);
    if ((await exitWithin(upload, 60_000)) !== 0) throw new Error(`mapping upload failed: ${upload.stderr().slice(-300)}`);
    return { stateDir, azurite, children, env, graph: { child: graph.child, args: graphArgs, base } };
  } catch (error) {
    for (const c of children) c.kill('SIGKILL');
    await azurite.stop();
    throw error;
  }
}

async function stopStack(stack: Stack, keepState: boolean): Promise<void> {
  for (const c of stack.children) c.kill('SIGTERM');
  await stack.azurite.stop();
  if (!keepState) rmSync(stack.stateDir, { recursive: true, force: true });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one window to its end: started, killed at random points (as many times
 * as drawn), started again until a start resumes the run and finishes it.
 * Returns how many times it was killed.
 */
async function runLane(stack: Stack, lane: number, random: SeededRandom, kills: number, log: (line: string) => void): Promise<number> {
  const window = LANE_WINDOWS[lane];
  const deadline = Date.now() + LANE_DEADLINE_MS;
  let killed = 0;
  let attempts = 0;
  while (Date.now() < deadline) {
    attempts++;
    const report = path.join(stack.stateDir, `lane-${lane}-report.json`);
    const run: CliProcess = startCliProcess(['run', '--from', window.from, '--to', window.to, '--report', report], stack.env, stack.stateDir);
    let timer: NodeJS.Timeout | undefined;
    let killedThis = false;
    if (killed < kills) {
      const at = random.int(500, 12_000);
      timer = setTimeout(() => {
        killedThis = true;
        run.child.kill('SIGKILL');
      }, at);
    }
    const code = await exitWithin(run, Math.max(1, deadline - Date.now()));
    clearTimeout(timer);
    if (killedThis && code === null) {
      killed++;
      log(`  lane ${lane}: killed (${killed}/${kills})`);
      continue;
    }
    if (/already running/.test(run.stderr())) {
      // The killed process's driver lease has not lapsed yet.
      await sleep(500);
      continue;
    }
    // Finished only once the run wrote its report: exit 0 (completed) or 1 (completed with failures).
    if ((code === 0 || code === 1) && existsSync(report)) {
      log(`  lane ${lane}: finished (exit ${code}) after ${attempts} start(s)`);
      return killed;
    }
    throw new Error(`lane ${lane}: o2-archiver run exited ${code}: ${run.stderr().slice(-500)}`);
  }
  throw new Error(`lane ${lane}: did not finish within ${LANE_DEADLINE_MS / 60_000} minutes`);
}

interface Copy {
  id: string;
  itemId: string | undefined;
}

/** Every message of one folder with its item-id named property, read through the Graph API (paged). */
async function listFolder(graph: GraphClient, userId: string, folder: string): Promise<Copy[]> {
  const copies: Copy[] = [];
  const expand = q(`singleValueExtendedProperties($filter=id eq ${odataString(ITEM_ID_PROPERTY)})`);
  type Page = { value: { id: string; singleValueExtendedProperties?: { id: string; value: string }[] }[]; '@odata.nextLink'?: string };
  let page: Page = await graph.call('drill: list folder', (sdk) => sdk.api(`/users/${seg(userId)}/mailFolders/${seg(folder)}/messages`).select('id').expand(expand).top(100).get() as Promise<Page>);
  for (;;) {
    for (const m of page.value) copies.push({ id: m.id, itemId: m.singleValueExtendedProperties?.[0]?.value });
    const next = page['@odata.nextLink'];
    if (!next) return copies;
    page = await graph.call('drill: list folder', (sdk) => sdk.api(next).get() as Promise<Page>);
  }
}

/** Every row of a table; none when the table was never created. */
async function listAll<T extends object>(table: TableClient): Promise<(T & { partitionKey: string; rowKey: string })[]> {
  const rows: (T & { partitionKey: string; rowKey: string })[] = [];
  try {
    for await (const e of table.listEntities<T>()) rows.push(e as T & { partitionKey: string; rowKey: string });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  return rows;
}

/**
 * The drill's faults are for the runs, not for the check: the Graph emulator
 * restarts without them over the same state directory (it keeps every
 * mailbox there), so that a fault or a lost answer cannot fail the count.
 */
async function restartGraphWithoutFaults(stack: Stack): Promise<NodeJS.ProcessEnv> {
  const old = stack.graph.child;
  if (old.exitCode === null && old.signalCode === null) {
    const exited = new Promise((resolve) => old.once('exit', resolve));
    old.kill('SIGTERM');
    await exited;
  }
  const graph = await startServiceProcess<{ url: string; caCertPath: string }>(PROCESS_SCRIPTS.graphEmulator, [...stack.graph.args, '--fault-rate', '0'], stack.graph.base);
  stack.children.push(graph.child);
  return { ...stack.env, GRAPH_BASE_URL: graph.info.url, GRAPH_CA_CERT_PATH: graph.info.caCertPath };
}

/** Checks the promise for every unit of every run in the drill's storage. */
async function verify(stack: Stack): Promise<Omit<RaceDrillResult, 'seed' | 'kills' | 'ok' | 'poison'>> {
  const settings = readSettings(await restartGraphWithoutFaults(stack));
  const storage = createStorageClients(settings);
  const graph = createGraphClient(settings);
  const expected = new Map<string, RunUnitRow>();
  const failedByRun: string[] = [];
  for (const e of await listAll<RunUnitRow>(storage.table(TableNames.runUnits))) {
    const unit: RunUnitRow = e;
    expected.set(`${unit.mailboxId}|${unit.itemId}`, unit);
    if (unit.outcome === 'failed' || unit.outcome === 'pending') failedByRun.push(`${e.partitionKey.split('|')[0]}: ${unit.mailbox} ${unit.itemId} ${unit.outcome} ${unit.reason ?? ''} ${unit.detail ?? ''}`.trim());
  }
  const ledger = new Map<string, { state: string; graphMessageId?: string }>();
  // No ledger table means nothing was ever claimed: every unit then shows as a mismatch.
  for (const e of await listAll<{ state: string; graphMessageId?: string }>(storage.table(TableNames.ledger))) {
    ledger.set(`${e.partitionKey}|${e.rowKey}`, { state: e.state, graphMessageId: e.graphMessageId || undefined });
  }
  const archived = new Map<string, string[]>();
  let inDeletedItems = 0;
  const mailboxes = new Set([...expected.values()].map((u) => u.mailboxId));
  for (const mailboxId of mailboxes) {
    const folders = await graph.call('drill: find folder', (sdk) =>
      sdk.api(`/users/${seg(mailboxId)}/mailFolders`).filter(q(`displayName eq ${odataString(settings.ARCHIVE_FOLDER_NAME)}`)).get() as Promise<{ value: { id: string }[] }>);
    for (const copy of folders.value[0] ? await listFolder(graph, mailboxId, folders.value[0].id) : []) {
      const key = `${mailboxId}|${copy.itemId}`;
      archived.set(key, [...(archived.get(key) ?? []), copy.id]);
    }
    inDeletedItems += (await listFolder(graph, mailboxId, 'deleteditems')).filter((c) => c.itemId !== undefined).length;
  }
  let imported = 0;
  let duplicated = 0;
  let lost = 0;
  let ledgerMismatches = 0;
  const problems: string[] = [];
  for (const [key, unit] of expected) {
    const copies = archived.get(key) ?? [];
    const row = ledger.get(`${unit.mailboxId}|${unit.itemKey}`);
    if (copies.length === 0) {
      lost++;
      problems.push(`lost: ${unit.mailbox} ${unit.itemId}`);
    } else if (copies.length > 1) {
      duplicated++;
      problems.push(`duplicated (${copies.length} copies): ${unit.mailbox} ${unit.itemId}`);
    }
    if (!row || (row.state !== 'imported' && row.state !== 'partial') || !copies.includes(row.graphMessageId ?? '')) {
      ledgerMismatches++;
      problems.push(`ledger ${row ? `${row.state} ${row.graphMessageId ?? '-'}` : 'missing'} for ${unit.mailbox} ${unit.itemId} (${copies.length} copies)`);
    } else if (copies.length === 1) {
      imported++;
    }
  }
  for (const [key, copies] of archived) {
    if (!expected.has(key)) problems.push(`${copies.length} copies of a unit no run has: ${key}`);
  }
  if (inDeletedItems > 0) problems.push(`${inDeletedItems} copies in Deleted Items`);
  problems.push(...failedByRun.map((f) => `reported: ${f}`));
  return { unitsExpected: expected.size, imported, duplicated, lost, inDeletedItems, ledgerMismatches, reportedFailed: failedByRun.length, problems };
}

/** Marks what the poison drill puts in the stage queues, so the check can find each in a poison queue. */
const POISON_MARK = 'o2-drill-poison';

/**
 * The poison for one stage queue of a run: a message that is no claim check
 * at all, and for the stages that read a blob, a well-formed claim check
 * whose blob does not exist (it fails on every delivery until the limit).
 */
function poisonFor(queueName: string, kind: 'malformed' | 'all'): string[] {
  const stage = StageOrder.find((s) => queueName.startsWith(`${QueueNames[s]}-`))!;
  const runId = /run-[0-9a-z-]+$/.exec(queueName)?.[0] ?? 'unknown-run';
  const messages = [`${POISON_MARK}: not a claim check`];
  if (kind === 'malformed') return messages;
  if (stage === 'stage') messages.push(JSON.stringify({ runId, pageBlob: `${POISON_MARK}/missing-page.json`, records: 1 }));
  if (stage === 'convert' || stage === 'map') messages.push(JSON.stringify({ runId, batchBlob: `${POISON_MARK}/missing-batch.json`, items: 1 }));
  return messages;
}

/** Watches for the runs' stage queues and puts the poison in each as soon as it exists. */
function startPoisoner(stack: Stack, kind: 'malformed' | 'all'): { injected(): number; stop(): Promise<void> } {
  const storage = createStorageClients(readSettings(stack.env));
  const done = new Set<string>();
  let injected = 0;
  const own = new RegExp(`^(${StageOrder.map((s) => QueueNames[s]).join('|')})-(?!poison$)`);
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        for await (const q of storage.queues.listQueues()) {
          if (!own.test(q.name) || done.has(q.name)) continue;
          done.add(q.name);
          for (const text of poisonFor(q.name, kind)) {
            await storage.queue(q.name).sendMessage(text);
            injected++;
          }
        }
      } catch {
        // Azurite busy or a queue deleted between list and send: look again.
      }
      await sleep(100);
    }
  })();
  return {
    injected: () => injected,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Poison messages that reached a stage's poison queue. */
async function countSetAside(stack: Stack): Promise<number> {
  const storage = createStorageClients(readSettings(stack.env));
  let count = 0;
  for (const stage of StageOrder) {
    const queue = storage.queue(poisonQueueName(stage));
    if (!(await queue.exists())) continue;
    // Peek sees at most 32; a drill's poison queues hold a handful.
    const peeked = await queue.peekMessages({ numberOfMessages: 32 });
    count += peeked.peekedMessageItems.filter((m) => m.messageText.includes(POISON_MARK)).length;
  }
  return count;
}

/** Runs the race drill once for `seed`. */
export async function runRaceDrill(options: RaceDrillOptions): Promise<RaceDrillResult> {
  const lanes = Math.min(3, Math.max(1, options.lanes ?? 3));
  const log = options.log ?? (() => undefined);
  const stack = await startStack({ seed: options.seed, generatedItems: options.generatedItems ?? 40, faultRate: options.faultRate ?? 0.3, env: options.env });
  try {
    const poisoner = options.poison ? startPoisoner(stack, options.poison) : undefined;
    let kills: number[];
    try {
      kills = await Promise.all(
        Array.from({ length: lanes }, (_, lane) => {
          const random = new SeededRandom(`${options.seed}:lane:${lane}`);
          return runLane(stack, lane, random, options.killsPerLane ?? random.int(0, options.maxKillsPerLane ?? 3), log);
        }),
      );
    } finally {
      await poisoner?.stop();
    }
    const result = await verify(stack);
    const poison = { injected: poisoner?.injected() ?? 0, setAside: await countSetAside(stack) };
    if (poison.setAside < poison.injected) result.problems.push(`${poison.injected - poison.setAside} of ${poison.injected} poison messages were not set aside`);
    const expectedPoison = options.poison === 'all' ? StageOrder.length + 3 : options.poison ? StageOrder.length : 0;
    if (poison.injected < expectedPoison) result.problems.push(`only ${poison.injected} of ${expectedPoison} poison messages went in`);
    const ok = result.problems.length === 0 && result.unitsExpected > 0;
    return { seed: options.seed, kills: kills.reduce((a, b) => a + b, 0), ...result, poison, ok };
  } finally {
    await stopStack(stack, options.keepState ?? false);
  }
}

/** One line of a drill's figures. */
export function describeRaceDrill(r: RaceDrillResult): string {
  const poison = r.poison.injected > 0 ? `; poison messages ${r.poison.injected}, set aside ${r.poison.setAside}` : '';
  return `seed ${r.seed}: ${r.kills} kills${poison}; units expected ${r.unitsExpected}, imported ${r.imported}, duplicated ${r.duplicated}, lost ${r.lost}, ` +
    `in Deleted Items ${r.inDeletedItems}, ledger mismatches ${r.ledgerMismatches}, reported failed ${r.reportedFailed}: ${r.ok ? 'PASS' : 'FAIL'}`;
}
