/**
 * One day through the whole pipeline on the local stack, measured: Azurite in
 * a process of its own, the TeleMessage and Graph emulators and the
 * connector (the local driver, its orchestrators and activities) in this one,
 * every storage request counted by service and method, every Graph request
 * by the emulator.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAzurite, type AzuriteHandle } from '../local/azurite';
import { startGraphEmulator, type GraphEmulator } from '../local/emulators/graph/server';
import type { GraphLimits, MailboxStats } from '../local/emulators/graph/types';
import type { EmulatorMedia } from '../local/emulators/telemessage/media';
import { startTeleMessageEmulator, type TeleMessageEmulator } from '../local/emulators/telemessage';
import { createLocalRunner } from '../local/runner';
import { readSettings } from '../shared/platform/config';
import type { RunReport } from '../shared/run/report';
import { uploadMapping } from './mapping';
import { findMariaDb, startMariaDb, type MariaDb } from './mariadb';
import { countStorageRequests, type OperationCount, type RequestCounter } from './requests';
import { smsDay, type BenchUser } from './smsDay';

export interface DayResult {
  items: number;
  units: number;
  mailboxes: number;
  seconds: number;
  /** The drain (fetch to map) and the import, in seconds. */
  phases: { drain: number; import: number };
  itemsPerSecond: number;
  /** Storage requests by operation. */
  storageRequests: Record<string, OperationCount>;
  storageRequestsPerItem: number;
  graphRequests: number;
  graphThrottled: number;
  /** The most requests any one mailbox got. */
  busiestMailboxRequests: number;
  /** CPU seconds used during the run: by this process (connector and emulators) and by Azurite. */
  cpuSeconds: { bench: number; azurite: number };
  /** The Graph emulator's figures for each mailbox. */
  graphMailboxes: Record<string, MailboxStats>;
  report: RunReport;
}

export interface BenchStack {
  azurite: AzuriteHandle;
  stateDir: string;
  /** Where Azurite keeps blob metadata, in words for the results (MariaDB's SQL store, or why its default). */
  blobMetadata: string;
  /** The storage's processes (Azurite's and its MariaDB), for their CPU time. */
  storagePids: number[];
  stop(): Promise<void>;
}

/** CPU seconds a process has used (Linux /proc; 0 where there is none). */
export function cpuSecondsOf(pid: number): number {
  try {
    // Fields 14 and 15 of /proc/<pid>/stat (after the command in parentheses): user and system time in clock ticks (100 a second).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds the bench's storage has used, all its processes. */
export function storageCpuSeconds(stack: BenchStack): number {
  return stack.storagePids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
}

/**
 * Starts an Azurite of the bench's own (shared by the day runs and the Azurite-alone measure of one bench).
 * Blob metadata goes to a MariaDB of the stack's own where one is installed (BENCH_BLOB_METADATA=loki keeps
 * Azurite's default): Azurite's default store scans every blob of the account on each blob write, so a day's
 * blob writes would cost it the square of the day, a cost Azure Storage does not have (docs/capacity.md).
 */
export async function startBenchAzurite(): Promise<BenchStack> {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'o2-bench-'));
  const programs = process.env.BENCH_BLOB_METADATA === 'loki' ? { missing: 'BENCH_BLOB_METADATA=loki' } : findMariaDb();
  let mariaDb: MariaDb | undefined;
  try {
    if (!('missing' in programs)) mariaDb = await startMariaDb(path.join(stateDir, 'mariadb'), programs);
    // In memory: Azurite's disk persistence rewrites its whole metadata database every five seconds, a cost
    // that grows with the data and that Azure Storage does not have (docs/capacity.md).
    const azurite = await startAzurite({ location: path.join(stateDir, 'azurite'), inMemory: true, blobMetadataDb: await mariaDb?.database('azurite_blob') });
    return {
      azurite,
      stateDir,
      blobMetadata: mariaDb
        ? `blob metadata in Azurite's SQL store on MariaDB ${mariaDb.version}`
        : `blob metadata in Azurite's default Loki store (${'missing' in programs ? programs.missing : ''}), which scans every blob of the account on each blob write`,
      storagePids: [...azurite.pids, ...(mariaDb ? [mariaDb.pid] : [])],
      stop: async () => {
        await azurite.stop();
        await mariaDb?.stop();
        rmSync(stateDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await mariaDb?.stop();
    rmSync(stateDir, { recursive: true, force: true });
    throw e;
  }
}

const TOKEN = 'bench-token';
const TM_USER = 'bench-admin';
const TM_PASSWORD = 'bench-password';

/** A day to archive: its users (each a mailbox, with a number in the mapping file), records and media. */
export interface BenchDay {
  users: BenchUser[];
  mappingCsv: string;
  records: Record<string, unknown>[];
  media?: EmulatorMedia[];
  window: { from: string; to: string };
}

/** The TeleMessage and Graph emulators serving one day, and the settings that point the connector at them. */
export interface BenchServices {
  telemessage: TeleMessageEmulator;
  graph: GraphEmulator;
  /** The connector's settings (app settings), for this process or a child's environment. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts the emulators for `day`, on the bench's Azurite. */
export async function startServices(stack: BenchStack, day: BenchDay, options: { graphLimits?: Partial<GraphLimits>; env?: Record<string, string> } = {}): Promise<BenchServices> {
  const telemessage = await startTeleMessageEmulator({ items: day.records, media: day.media ?? [], username: TM_USER, password: TM_PASSWORD, faultRate: 0, seed: 'bench' });
  let graph: GraphEmulator | undefined;
  try {
    graph = await startGraphEmulator({
      users: day.users.map((u) => ({ displayName: u.displayName, userPrincipalName: u.userPrincipalName, mail: u.mail })),
      token: TOKEN,
      faultRate: 0,
      limits: options.graphLimits,
    });
  } catch (error) {
    await telemessage.stop();
    throw error;
  }
  // The emulator keeps no state here: its certificate goes to the bench's own directory for the client to trust.
  const caPath = path.join(stack.stateDir, `graph-ca-${graph.url.replace(/\D/g, '')}.pem`);
  writeFileSync(caPath, graph.caCertPem);
  const started = graph;
  return {
    telemessage,
    graph,
    env: {
      AzureWebJobsStorage: stack.azurite.connectionString,
      TELEMESSAGE_BASE_URL: telemessage.url,
      TELEMESSAGE_USERNAME: TM_USER,
      TELEMESSAGE_PASSWORD: TM_PASSWORD,
      GRAPH_BASE_URL: graph.url,
      GRAPH_DEV_TOKEN: TOKEN,
      GRAPH_CA_CERT_PATH: caPath,
      ...options.env,
    },
    stop: async () => {
      await started.stop();
      await telemessage.stop();
    },
  };
}

/** Prints what the local driver does, with times, when BENCH_VERBOSE is set. */
export function verboseLog(): ((line: string) => void) | undefined {
  return process.env.BENCH_VERBOSE ? (l) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${l}\n`) : undefined;
}

/** Archives `day` with the connector in this process and measures it. */
export async function runDay(
  stack: BenchStack,
  day: BenchDay,
  options: { env?: Record<string, string>; graphLimits?: Partial<GraphLimits>; label?: string; log?: (line: string) => void } = {},
): Promise<DayResult> {
  const services = await startServices(stack, day, options);
  let counter: RequestCounter | undefined;
  try {
    const settings = readSettings(services.env);
    const runner = await createLocalRunner({ settings, timeScale: 0.05, log: verboseLog() });
    await uploadMapping(runner, day.mappingCsv);
    services.graph.resetStats();
    counter = countStorageRequests(stack.azurite.ports);
    const cpuBefore = { bench: process.cpuUsage(), azurite: storageCpuSeconds(stack) };
    const phaseAt: Record<string, number> = {};
    const started = Date.now();
    const run = await runner.startRun({ trigger: 'cli', window: day.window });
    const { report } = await runner.waitForRun(run, (status) => {
      const phase = (status as { phase?: string }).phase;
      if (phase && phaseAt[phase] === undefined) phaseAt[phase] = Date.now();
    });
    const ended = Date.now();
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    const cpuSeconds = { bench: (benchCpu.user + benchCpu.system) / 1e6, azurite: storageCpuSeconds(stack) - cpuBefore.azurite };
    const storageRequests = counter.operations();
    counter.stop();
    counter = undefined;
    if (!report) throw new Error('the bench run wrote no report');
    const stats = services.graph.stats();
    const mailboxes = Object.values(stats.mailboxes);
    const seconds = (ended - started) / 1000;
    const importStart = phaseAt.import ?? ended;
    const result: DayResult = {
      items: report.counts.sourceItems,
      units: report.counts.importUnits,
      mailboxes: day.users.length,
      seconds,
      phases: { drain: (importStart - started) / 1000, import: (ended - importStart) / 1000 },
      itemsPerSecond: report.counts.sourceItems / seconds,
      storageRequests,
      storageRequestsPerItem: Object.values(storageRequests).reduce((a, b) => a + b.requests, 0) / report.counts.sourceItems,
      graphRequests: stats.requests,
      graphThrottled: mailboxes.reduce((s, m) => s + m.throttled.concurrency + m.throttled.requestRate + m.throttled.uploadBytes, 0),
      busiestMailboxRequests: Math.max(0, ...mailboxes.map((m) => m.requests)),
      cpuSeconds,
      graphMailboxes: stats.mailboxes,
      report,
    };
    options.log?.(
      `  ${options.label ?? 'day'}: ${result.items} items, ${result.units} units in ${result.mailboxes} mailboxes: ${seconds.toFixed(1)} s (drain ${result.phases.drain.toFixed(1)} s, import ${result.phases.import.toFixed(1)} s), ` +
        `${result.itemsPerSecond.toFixed(1)} items/s, ${result.storageRequestsPerItem.toFixed(2)} storage requests per item, ${(result.graphRequests / result.units).toFixed(3)} Graph requests per unit, ` +
        `CPU busy: bench ${(cpuSeconds.bench / seconds).toFixed(2)}, Azurite ${(cpuSeconds.azurite / seconds).toFixed(2)}`,
    );
    return result;
  } finally {
    counter?.stop();
    await services.stop();
  }
}

/** Archives a generated SMS day of `items` over `mailboxes` mailboxes and measures it. */
export async function runSmsDay(
  stack: BenchStack,
  options: { mailboxes: number; items: number; env?: Record<string, string>; graphLimits?: Partial<GraphLimits>; label?: string; log?: (line: string) => void },
): Promise<DayResult> {
  return runDay(stack, smsDay({ mailboxes: options.mailboxes, items: options.items }), options);
}
