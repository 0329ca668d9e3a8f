/**
 * `o2-archiver run --from <ISO> --to <ISO> [--report <file>]`: one archive
 * run of exactly that window (no settle re-read), through the same
 * orchestrator and activities as in Azure, driven locally.
 */
import { writeFileSync } from 'node:fs';
import { readSettings, requireSettings } from '../../../shared/platform/config';
import { failuresCsv } from '../../../shared/run/report';
import { createLocalRunner } from '../../runner';
import { exitCodeFor, progressPrinter, progressSink, summaryLines } from '../../progress';
import { allowOptions, parseInstant, optionalOption, requireOption, usage } from '../args';
import type { Command } from '../command';
import { windowTooLong } from '../../../shared/run/window';

export const runCommand: Command = async (args, io) => {
  allowOptions(args, ['from', 'to', 'report']);
  if (args.positionals.length > 0) throw usage(`run takes no arguments, only --from, --to and --report`);
  const from = parseInstant(requireOption(args, 'from'), 'from');
  const to = parseInstant(requireOption(args, 'to'), 'to');
  if (Date.parse(from) >= Date.parse(to)) throw usage(`--from must be before --to`);
  const reportFile = optionalOption(args, 'report');
  const settings = readSettings();
  const tooLong = windowTooLong({ from, to }, settings.MAX_WINDOW_DAYS);
  if (tooLong) throw usage(tooLong);
  requireSettings(settings, ['TELEMESSAGE_BASE_URL', 'TELEMESSAGE_USERNAME', 'TELEMESSAGE_PASSWORD']);
  const runner = await createLocalRunner({ settings, leaseInMs: settings.LOCAL_DRIVER_LEASE_SECONDS * 1000 });
  const started = await runner.startRun({ trigger: 'cli', window: { from, to } });
  io.err(`run ${started.runId} (${started.outcome}) of ${from} .. ${to}`);
  const { instance, report } = await runner.waitForRun(started, progressPrinter(progressSink(io)));
  if (!report) {
    io.err(`o2-archiver: the run ended ${instance.status} without a report: ${instance.error ?? 'unknown error'}`);
    return 3;
  }
  if (reportFile) {
    writeFileSync(reportFile, JSON.stringify(report, null, 2));
    writeFileSync(reportFile.replace(/\.json$/i, '') + '.failures.csv', failuresCsv(report));
  }
  for (const line of summaryLines(report)) io.out(line);
  if (report.status === 'failed') io.err(`o2-archiver: run failed: ${report.error ?? 'see the report'}`);
  return exitCodeFor(report.status);
};
