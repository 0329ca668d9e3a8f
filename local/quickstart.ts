/**
 * `npm start`: empties .local/, brings up Azurite and both emulators with the
 * sample day, uploads the sample mapping, runs the sample window through the
 * orchestrator, writes .local/last-run-report.json and its failures CSV,
 * prints a summary, stops everything and exits with `run`'s exit code.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ContainerNames } from '../shared/platform/names';
import { createMappingStore } from '../shared/stages/mapping';
import { failuresCsv } from '../shared/run/report';
import { describeError } from '../shared/model/errors';
import { startLocalStack } from './stack';
import { createLocalRunner } from './runner';
import { exitCodeFor, progressPrinter, summaryLines } from './progress';
import { findProjectRoot } from './sample';

const SAMPLE_WINDOW = { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' };

/** Runs the quick start and resolves to its exit code. */
export async function quickstart(root: string = findProjectRoot(__dirname)): Promise<number> {
  const stateDir = path.join(root, '.local');
  rmSync(stateDir, { recursive: true, force: true });
  process.stderr.write('starting Azurite and the TeleMessage and Graph emulators...\n');
  const stack = await startLocalStack({ stateDir });
  try {
    process.stderr.write(
      `sample day: ${stack.sample.records.length} records; tenant on ${stack.graph.url}; archive on ${stack.telemessage.url}\n`,
    );
    const runner = await createLocalRunner({ settings: stack.settings, log: () => undefined });
    const mapping = createMappingStore(runner.infra.storage.container(ContainerNames.mapping), {
      defaultRegion: stack.settings.DEFAULT_PHONE_REGION,
    });
    const uploaded = await mapping.replace(readFileSync(path.join(root, 'fixtures/mapping/telemessage-format.csv'), 'utf8'), { who: 'npm start' });
    if (!uploaded.ok) throw new Error('the sample mapping did not load');
    const started = await runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW });
    process.stderr.write(`run ${started.runId} of ${SAMPLE_WINDOW.from} .. ${SAMPLE_WINDOW.to}\n`);
    const { instance, report } = await runner.waitForRun(started, progressPrinter());
    if (!report) throw new Error(`the run ended ${instance.status} without a report: ${instance.error ?? ''}`);
    writeFileSync(path.join(stateDir, 'last-run-report.json'), JSON.stringify(report, null, 2));
    writeFileSync(path.join(stateDir, 'last-run-report.failures.csv'), failuresCsv(report));
    for (const line of summaryLines(report)) process.stdout.write(line + '\n');
    process.stdout.write(`report: .local/last-run-report.json; mailboxes: .local/mailboxes/\n`);
    return exitCodeFor(report.status);
  } finally {
    await stack.stop();
  }
}

if (require.main === module) {
  quickstart().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`npm start: ${describeError(e)}\n`);
      process.exit(3);
    },
  );
}
