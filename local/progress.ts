/**
 * The progress display of a run: one line per stage from the orchestration's
 * custom status, redrawn in place on a terminal and printed sparingly elsewhere.
 */
import { StageOrder } from '../shared/names';
import type { RunReport } from '../shared/report';

interface StatusShape {
  phase?: string;
  round?: number;
  stages?: Record<string, { done: number; poisoned: number; waiting: number }>;
}

/** A function to call with each custom status; prints stage counts to `stream`. */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (status: unknown) => void {
  let lines = 0;
  let last = '';
  return (raw) => {
    const status = raw as StatusShape;
    if (!status?.stages) return;
    const rows = [
      `phase ${status.phase ?? '?'}, round ${status.round ?? 0}`,
      ...StageOrder.map((stage) => {
        const s = status.stages![stage] ?? { done: 0, poisoned: 0, waiting: 0 };
        return `  ${stage.padEnd(8)} done ${String(s.done).padStart(6)}  waiting ${String(s.waiting).padStart(6)}${s.poisoned ? `  poisoned ${s.poisoned}` : ''}`;
      }),
    ];
    const text = rows.join('\n');
    if (text === last) return;
    last = text;
    if (stream.isTTY) {
      if (lines > 0) stream.write(`\x1b[${lines}A\x1b[0J`);
      stream.write(text + '\n');
      lines = rows.length;
    } else if ((status.round ?? 0) % 10 === 0 || status.phase === 'finish') {
      stream.write(text + '\n');
    }
  };
}

/** The summary printed at the end of a run. */
export function summaryLines(report: Pick<RunReport, 'runId' | 'status' | 'counts' | 'error'>): string[] {
  const c = report.counts;
  return [
    `run ${report.runId}: ${report.status}${report.error ? ` (${report.error})` : ''}`,
    `  items: ${c.sourceItems} from the source: ${c.routedItems} routed, ${c.unmapped} unmapped, ${c.tooLarge} too large, ${c.invalid} invalid, ${c.itemFailed} failed`,
    `  units: ${c.importUnits} for mailboxes: ${c.imported} imported, ${c.duplicates} duplicates, ${c.partial} partial, ${c.failed} failed`,
  ];
}

/** The exit code of `run` for a report status (contracts/cli.md). */
export function exitCodeFor(status: string): number {
  if (status === 'completed') return 0;
  if (status === 'completed-with-failures') return 1;
  return 3;
}
