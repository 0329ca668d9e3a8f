/**
 * The progress display of a run: the stage counts from the orchestration's
 * custom status and its workers', redrawn in place on a terminal. Where the output is not a
 * terminal (CI logs, `nohup`, a container) it prints one line per phase and
 * one at a steady interval while the counts move, so a long run is never
 * silent between its first and last line.
 */
import { StageOrder } from '../shared/platform/names';
import type { RunReport } from '../shared/run/report';

interface StageCounts { done: number; poisoned: number; items: number }

interface StatusShape {
  phase?: string;
  slices?: number;
  mailboxes?: number;
  units?: number;
  stages?: Record<string, StageCounts>;
}

/**
 * The run's status with the live counts of its running workers added: the
 * run orchestrator adds its workers' counts only when a phase ends, and each
 * worker tells its own as it goes (`workers`, by worker instance id).
 */
export function combineStatus(run: unknown, workers: ReadonlyMap<string, unknown>): unknown {
  const status = run as StatusShape | undefined;
  if (!status?.stages) return run;
  const stages = Object.fromEntries(Object.entries(status.stages).map(([name, s]) => [name, { ...s }]));
  // Only the current phase's workers are not in the run's counts yet.
  const live = status.phase === 'drain' ? ['fetch', 'stage', 'convert', 'map'] : status.phase === 'import' ? ['import'] : [];
  for (const raw of workers.values()) {
    const w = raw as { stage?: string } & Partial<StageCounts>;
    if (!w.stage || !live.includes(w.stage) || !stages[w.stage]) continue;
    stages[w.stage].done += w.done ?? 0;
    stages[w.stage].poisoned += w.poisoned ?? 0;
    stages[w.stage].items += w.items ?? 0;
  }
  return { ...status, stages };
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
    const stage = (name: string) => status.stages![name] ?? { done: 0, poisoned: 0, items: 0 };
    if (sink.isTTY) {
      const rows = [
        `phase ${status.phase ?? '?'}`,
        ...StageOrder.map((name) => {
          const s = stage(name);
          return `  ${name.padEnd(8)} done ${String(s.done).padStart(6)}  ${name === 'import' ? 'units' : 'items'} ${String(s.items).padStart(8)}${s.poisoned ? `  poisoned ${s.poisoned}` : ''}`;
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
      return `${name} ${s.done} done, ${s.items} ${name === 'import' ? 'units' : 'items'}${s.poisoned ? `, ${s.poisoned} poisoned` : ''}`;
    }).join('; ');
    const at = now();
    const newPhase = status.phase !== lastPhase;
    if (!newPhase && (counts === lastPrintedCounts || at - lastPrintedAt < interval)) return;
    lastPhase = status.phase;
    lastPrintedAt = at;
    lastPrintedCounts = counts;
    const plan = status.phase === 'import' || status.phase === 'finish' ? `, ${status.units ?? 0} unit(s) in ${status.mailboxes ?? 0} mailbox(es)` : `, ${status.slices ?? 0} slice(s)`;
    sink.write(`progress: phase ${status.phase ?? '?'}${plan}: ${counts}\n`);
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
