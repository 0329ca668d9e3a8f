/**
 * A real kill half-way through the import: Azurite, the Graph emulator and the
 * TeleMessage emulator each run in a process of their own and keep their
 * state; `o2-archiver run` runs as a child process and is SIGKILLed once
 * messages have started to arrive. A new start of the same window is refused
 * while the dead process's lease is live, and once it has lapsed it resumes
 * the killed instance from its stored history (as Durable does after a host
 * crash): the same run id, every unit imported, none twice.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAzurite, type AzuriteHandle } from '../../local/azurite';
import { exitWithin, PROCESS_SCRIPTS, startCliProcess as cli, startServiceProcess as startService, waitUntil, type CliProcess as CliRun } from '../../local/processes';
import { sampleTenant } from '../../local/sample';
import { checkBalance, type RunReport } from '../../shared/run/report';
import { emlFiles, readMailboxesThroughGraph, PROJECT_ROOT, SAMPLE_WINDOW, type GraphEndpoint } from '../support/stack';

const CLI = PROCESS_SCRIPTS.cli;
const GRAPH_MAIN = PROCESS_SCRIPTS.graphEmulator;
const TM_MAIN = PROCESS_SCRIPTS.teleMessageEmulator;
const TOKEN = 'kill-test-token';
const TM_USER = 'kill-test-admin';
const TM_PASSWORD = 'kill-test-password';
const LEASE_SECONDS = 20;

const RUN_LINE = /run (\S+) \((started|resumed|restarted)\)/;

describe('an archive run killed half-way through the import', () => {
  let stateDir: string;
  let azurite: AzuriteHandle;
  let graphChild: ChildProcess | undefined;
  let tmChild: ChildProcess | undefined;
  let graph: GraphEndpoint;
  let env: NodeJS.ProcessEnv;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    // The child processes run the compiled code: build it as `npm test`'s pretest does. tsc emits even
    // when a file elsewhere in the tree does not type-check, so its exit code alone does not stop the test.
    spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: PROJECT_ROOT, stdio: 'ignore', timeout: 300_000 });
    for (const file of [CLI, GRAPH_MAIN, TM_MAIN, path.join(PROJECT_ROOT, 'dist/local/cli/main.js')]) expect(existsSync(file)).toBe(true);
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'o2-kill-'));
    azurite = await startAzurite({ location: path.join(stateDir, 'azurite') });
    const tenantFile = path.join(stateDir, 'tenant.json');
    writeFileSync(
      tenantFile,
      JSON.stringify(sampleTenant().map((u) => ({ displayName: u.displayName, userPrincipalName: u.userPrincipalName, mail: u.mail, proxyAddresses: u.proxyAddresses }))),
    );
    const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? stateDir };
    const g = await startService<{ url: string; caCertPath: string; token: string }>(
      GRAPH_MAIN,
      ['--users', tenantFile, '--state-dir', stateDir, '--token', TOKEN, '--fault-rate', '0', '--latency-ms', '40'],
      base,
    );
    graphChild = g.child;
    graph = { url: g.info.url, token: g.info.token, caCertPem: readFileSync(g.info.caCertPath, 'utf8') };
    const tm = await startService<{ url: string }>(
      TM_MAIN,
      ['--generated-items', '24', '--big-items', 'false', '--username', TM_USER, '--fault-rate', '0', '--duplicate-across-pages'],
      { ...base, TM_EMULATOR_PASSWORD: TM_PASSWORD },
    );
    tmChild = tm.child;
    env = {
      ...base,
      AzureWebJobsStorage: azurite.connectionString,
      TELEMESSAGE_BASE_URL: tm.info.url,
      TELEMESSAGE_USERNAME: TM_USER,
      TELEMESSAGE_PASSWORD: TM_PASSWORD,
      GRAPH_BASE_URL: graph.url,
      GRAPH_DEV_TOKEN: TOKEN,
      GRAPH_CA_CERT_PATH: g.info.caCertPath,
      RETRY_TIME_SCALE: '0.01',
      QUEUE_VISIBILITY_TIMEOUT_SECONDS: '10',
      LOCAL_DRIVER_LEASE_SECONDS: String(LEASE_SECONDS),
      // Small import slices and one request at a time per mailbox: many checkpoints to be killed between.
      IMPORT_UNITS_PER_ACTIVITY: '3',
      GRAPH_MAX_CONCURRENT_PER_MAILBOX: '1',
    };
    const upload = cli(['mapping', 'upload', path.join(PROJECT_ROOT, 'fixtures/mapping/telemessage-format.csv')], env, stateDir);
    expect(await exitWithin(upload, 60_000)).toBe(0);
  }, 420_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const c of [graphChild, tmChild]) c?.kill('SIGTERM');
    await azurite?.stop();
  });

  it('refuses a second start while the lease is live, then resumes the killed instance: no unit lost, none doubled', async () => {
    const window = ['run', '--from', SAMPLE_WINDOW.from, '--to', SAMPLE_WINDOW.to];
    const first = cli(window, env, stateDir);
    children.push(first.child);
    // Kill it for real once messages have begun to arrive in the mailboxes.
    const begun = await waitUntil(() => emlFiles(stateDir).length >= 2 || first.child.exitCode !== null, 180_000);
    expect(begun).toBe(true);
    expect(first.child.exitCode).toBeNull();
    first.child.kill('SIGKILL');
    await first.exit;
    const atKill = emlFiles(stateDir).length;
    const killedRunId = RUN_LINE.exec(first.stderr())?.[1];
    expect(RUN_LINE.exec(first.stderr())?.[2]).toBe('started');
    expect(killedRunId).toBeDefined();

    // The dead process's lease is still live: a new start is refused, with a message that says why.
    const refused = cli(window, env, stateDir);
    children.push(refused.child);
    expect(await exitWithin(refused, 60_000)).not.toBe(0);
    expect(refused.stderr()).toMatch(/already running/);
    expect(refused.stderr()).not.toMatch(/\n\s+at /); // no stack trace without --debug

    // Once the lease has lapsed, a start resumes the killed instance and runs it to the end.
    const reportFile = path.join(stateDir, 'resumed-report.json');
    let resumed: CliRun | undefined;
    const deadline = Date.now() + (LEASE_SECONDS + 60) * 1000;
    while (Date.now() < deadline) {
      const attempt = cli([...window, '--report', reportFile], env, stateDir);
      children.push(attempt.child);
      const started = await waitUntil(() => RUN_LINE.test(attempt.stderr()) || attempt.child.exitCode !== null, 60_000);
      if (started && RUN_LINE.test(attempt.stderr())) {
        resumed = attempt;
        break;
      }
      await exitWithin(attempt, 30_000);
      expect(attempt.stderr()).toMatch(/already running/);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    expect(resumed).toBeDefined();
    const line = RUN_LINE.exec(resumed!.stderr())!;
    expect({ outcome: line[2], runId: line[1] }).toEqual({ outcome: 'resumed', runId: killedRunId });
    expect(await exitWithin(resumed!, 300_000)).toBe(0);

    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport;
    expect(report.runId).toBe(killedRunId);
    expect(checkBalance(report.counts)).toEqual([]);
    expect(report.status).toBe('completed');
    // Units this run created before the kill count as imported too (the ledger holds its run id).
    expect(report.counts).toMatchObject({ failed: 0, partial: 0, duplicates: 0, imported: report.counts.importUnits });
    expect(atKill).toBeLessThan(report.counts.importUnits);

    // Nothing lost, nothing doubled: one message per unit, in the files and through the API.
    const files = emlFiles(stateDir);
    expect(files.filter((f) => / \(\d+\)\.eml$/.test(f))).toEqual([]);
    expect(files).toHaveLength(report.counts.importUnits);
    const messages = await readMailboxesThroughGraph(graph);
    expect(messages).toHaveLength(report.counts.importUnits);
    expect(new Set(messages.map((m) => `${m.mailbox}|${m.itemId}`)).size).toBe(messages.length);
  }, 600_000);
});
