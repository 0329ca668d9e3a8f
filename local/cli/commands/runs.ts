/**
 * `o2-archiver runs list [--limit N] [--json] | runs show <id> [--format json|csv]`:
 * recent runs with their counts, or one run's report (the stored one once
 * finished, live from the outcome rows while it runs).
 */
import { readSettings } from '../../../shared/platform/config';
import { createInfrastructure } from '../../../shared/app/root';
import { failuresCsv } from '../../../shared/run/report';
import { formatAge, readBacklog } from '../../../shared/run/backlog';
import { watermarkStoreOf } from '../../../shared/run/watermark';
import { loadReport, recentRuns } from '../../../shared/http/views';
import { allowOptions, dispatchSubcommand, optionalOption, usage, type ParsedArgs } from '../args';
import type { Command, CommandIo } from '../command';

const SUBCOMMANDS = 'list [--limit N] [--json] | show <runId> [--format json|csv]';

/** `o2-archiver runs …`: dispatches to list or show and returns the exit code. */
export const runsCommand: Command = (args, io) => dispatchSubcommand('runs', { list, show }, SUBCOMMANDS, args, io);

async function list(args: ParsedArgs, rest: string[], io: CommandIo): Promise<number> {
  allowOptions(args, ['limit', 'json']);
  if (rest.length > 0) throw usage('runs list takes no arguments');
  const limitText = optionalOption(args, 'limit');
  const limit = limitText === undefined ? 20 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw usage(`--limit must be a whole number from 1 to 100, not '${limitText}'`);
  const infra = createInfrastructure(readSettings());
  const [runs, backlog, watermark] = await Promise.all([
    recentRuns(infra, limit),
    readBacklog(infra.runs, { now: new Date() }),
    watermarkStoreOf(infra.runs).get(),
  ]);
  if (args.options.has('json')) {
    io.out(JSON.stringify({ runs: runs.map((r) => r.summary), backlog, watermark: watermark ?? null }, null, 2));
    return 0;
  }
  if (runs.length === 0) io.out('no runs yet');
  else {
    io.out(['run', 'trigger', 'status', 'window (UTC)', 'items', 'imported', 'dup', 'partial', 'failed', 'unmapped'].join('\t'));
    for (const { summary: s } of runs) {
      const c = s.counts;
      const trigger = s.redriveOf ? `redrive of ${s.redriveOf}` : s.trigger;
      io.out([s.runId, trigger, s.status, `${s.window.from} .. ${s.window.to}`, c.sourceItems, c.imported, c.duplicates, c.partial, c.failed, c.unmapped].join('\t'));
    }
  }
  io.out(`watermark: ${watermark ? `${watermark.at} (moved by ${watermark.setBy})` : 'none yet'}`);
  io.out(
    backlog.total === 0
      ? 're-drive backlog: empty'
      : `re-drive backlog: ${backlog.total} (${backlog.unmapped} unmapped, ${backlog.failed} failed), oldest waiting ${formatAge(backlog.oldestAgeInSeconds)}`,
  );
  return 0;
}

async function show(args: ParsedArgs, rest: string[], io: CommandIo): Promise<number> {
  allowOptions(args, ['format']);
  if (rest.length !== 1) throw usage('runs show needs one run id: runs show <runId>');
  const format = optionalOption(args, 'format') ?? 'json';
  if (format !== 'json' && format !== 'csv') throw usage(`--format must be json or csv, not '${format}'`);
  const infra = createInfrastructure(readSettings());
  const report = await loadReport(infra, rest[0]);
  if (!report) {
    io.err(`o2-archiver: no run ${rest[0]} (runs list shows the recent ones)`);
    return 1;
  }
  io.out(format === 'csv' ? failuresCsv(report).trimEnd().replace(/\r\n/g, '\n') : JSON.stringify(report, null, 2));
  return 0;
}
