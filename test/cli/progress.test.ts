/**
 * Progress for people who did not build it (issue 11): where the output is not
 * a terminal (CI logs, `nohup`, a container), `o2-archiver run` prints a line
 * per phase with the counts, and one at a steady interval while they move.
 */
import { main } from '../../local/cli/main';
import { combineStatus, progressPrinter } from '../../local/progress';
import { captureIo, stackForCli } from '../support/cli';
import { SAMPLE_WINDOW } from '../support/stack';

function status(phase: string, done: number, items: number) {
  const stage = { done, poisoned: 0, sent: 0, items };
  return { runId: 'run-x', phase, slices: 24, mailboxes: 3, units: 7, stages: { fetch: stage, stage: stage, convert: stage, map: stage, import: stage } };
}

describe('progress off a terminal', () => {
  it('prints a line per phase, and one per interval while the counts move, never the same counts twice', () => {
    const written: string[] = [];
    let clock = 0;
    const print = progressPrinter({ isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream, { intervalInMs: 10_000, now: () => clock });
    print(status('drain', 0, 0));
    clock = 1_000;
    print(status('drain', 5, 19)); // moved, but within the interval: quiet
    clock = 11_000;
    print(status('drain', 9, 15)); // the interval passed and the counts moved: a line
    clock = 30_000;
    print(status('drain', 9, 15)); // nothing moved: quiet however long
    clock = 30_500;
    print(status('import', 24, 0)); // a new phase: a line at once
    clock = 31_000;
    print(status('finish', 24, 0));
    expect(written).toHaveLength(4);
    expect(written.every((line) => line.endsWith('\n') && line.split('\n').length === 2)).toBe(true);
    expect(written[0]).toMatch(/^progress: phase drain, 24 slice\(s\): fetch 0 done, 0 items; stage 0 done/);
    expect(written[1]).toMatch(/phase drain.*fetch 9 done, 15 items/);
    expect(written[2]).toMatch(/phase import, 7 unit\(s\) in 3 mailbox\(es\)/);
    expect(written[3]).toMatch(/phase finish/);
  });

  it('adds the live counts of the current phase’s workers to the run’s', () => {
    const run = status('drain', 0, 0);
    const workers = new Map<string, unknown>([
      ['i:convert:0', { stage: 'convert', done: 2, poisoned: 0, items: 40 }],
      ['i:convert:1', { stage: 'convert', done: 1, poisoned: 1, items: 20 }],
      ['i:import:0', { stage: 'import', done: 5, poisoned: 0, items: 9 }],
    ]);
    const combined = combineStatus(run, workers) as ReturnType<typeof status>;
    expect(combined.stages.convert).toMatchObject({ done: 3, poisoned: 1, items: 60 });
    // Import workers belong to the next phase: not counted during the drain.
    expect(combined.stages.import).toMatchObject({ done: 0, items: 0 });
    const importing = combineStatus(status('import', 10, 100), workers) as ReturnType<typeof status>;
    expect(importing.stages.convert.done).toBe(10);
    expect(importing.stages.import).toMatchObject({ done: 15, items: 109 });
  });
});

describe('o2-archiver run off a terminal', () => {
  stackForCli();

  it('prints a progress line for each phase it goes through, with the counts', async () => {
    const { io, err, out } = captureIo();
    expect(await main(['run', '--from', SAMPLE_WINDOW.from, '--to', SAMPLE_WINDOW.to], io)).toBe(0);
    const progress = err.filter((line) => line.startsWith('progress: '));
    const phases = progress.map((line) => /phase (\w+)/.exec(line)?.[1]);
    expect(phases).toEqual(expect.arrayContaining(['drain', 'import', 'finish']));
    // In order, each phase starting once.
    expect([...new Set(phases)]).toEqual(['drain', 'import', 'finish']);
    expect(progress.at(-1)).toMatch(/phase finish.*import \d+ done, \d+ units/);
    expect(out.join('\n')).toMatch(/units: \d+ for mailboxes/);
  });
});
