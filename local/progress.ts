/**
 * The progress display of a run: the stage counts from the orchestration's
 * custom status, redrawn in place on a terminal. Where the output is not a
 * terminal (CI logs, `nohup`, a container) it prints one line per phase and
 * one at a steady interval while the counts move, so a long run is never
 * silent between its first and last line.
 */
import { StageOrder } from '../shared/names';
import type { RunReport } from '../shared/report';

interface StatusShape {
  phase?: string;
  round?: number;
  slices?: number;
  mailboxes?: number;
  units?: number;
  stages?: Record<string, { done: number; poisoned: number; waiting: number }>;
}

/** Where progress goes: a stream (process.stderr), or anything with `write` and whether it is a terminal. */
export interface ProgressSink {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressOptions {
  /** Off a terminal, the longest quiet stretch while the counts move. Default 10 s. */
  intervalInMs?: number;
  /** The clock, for tests. */
  now?: () => number;
}

/** A function to call with each custom status; prints stage counts to `sink`. */
export function progressPrinter(sink: ProgressSink = process.stderr, options: ProgressOptions = {}): (status: unknown) => void {
  const interval = options.intervalInMs ?? 10_000;
  const now = options.now ?? Date.now;
  let lines = 0;
  let last = '';
  let lastPhase: string | undefined;
  let lastPrintedAt = 0;
  let lastPrintedCounts = '';
  return (raw) => {
    const status = raw as StatusShape;
    if (!status?.stages) return;
    const stage = (name: string) => status.stages![name] ?? { done: 0, poisoned: 0, waiting: 0 };
    if (sink.isTTY) {
      const rows = [
        `phase ${status.phase ?? '?'}, round ${status.round ?? 0}`,
        ...StageOrder.map((name) => {
          const s = stage(name);
          return `  ${name.padEnd(8)} done ${String(s.done).padStart(6)}  waiting ${String(s.waiting).padStart(6)}${s.poisoned ? `  poisoned ${s.poisoned}` : ''}`;
        }),
      ];
      const text = rows.join('\n');
      if (text === last) return;
      last = text;
      if (lines > 0) sink.write(`\x1b[${lines}A\x1b[0J`);
      sink.write(text + '\n');
      lines = rows.length;
      return;
    }
    // One line: the phase, then each stage's counts; printed when the phase changes, else at the interval if they moved.
    const counts = StageOrder.map((name) => {
      const s = stage(name);
      return `${name} ${s.done} done, ${s.waiting} waiting${s.poisoned ? `, ${s.poisoned} poisoned` : ''}`;
    }).join('; ');
    const at = now();
    const newPhase = status.phase !== lastPhase;
    if (!newPhase && (counts === lastPrintedCounts || at - lastPrintedAt < interval)) return;
    lastPhase = status.phase;
    lastPrintedAt = at;
    lastPrintedCounts = counts;
    const plan = status.phase === 'import' || status.phase === 'finish' ? `, ${status.units ?? 0} unit(s) in ${status.mailboxes ?? 0} mailbox(es)` : `, ${status.slices ?? 0} slice(s)`;
    sink.write(`progress: phase ${status.phase ?? '?'}, round ${status.round ?? 0}${plan}: ${counts}\n`);
  };
}

/** The sink of a command's progress: the terminal itself when stderr is one, else the command's error lines. */
export function progressSink(io: { err(line: string): void; errIsTTY?: boolean }): ProgressSink {
  if (io.errIsTTY) return process.stderr;
  return { isTTY: false, write: (text: string) => text.split('\n').filter((line) => line !== '').forEach((line) => io.err(line)) };
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
