import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main, type CommandIo } from '../../local/cli/main';
import { ContainerNames } from '../../shared/platform/names';
import { createMappingStore } from '../../shared/stages/mapping/store';
import { testStorage } from '../support/storage';

const fixture = (name: string) => path.join(__dirname, '../../fixtures/mapping', name);

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (line) => out.push(line), err: (line) => err.push(line) };
  const code = await main(argv, io);
  return { code, out, err };
}

describe('o2-archiver mapping validate', () => {
  it.each(['telemessage-format.csv', 'no-header-mixed-formats.csv'])('loads %s (exit 0)', async (name) => {
    const result = await run('mapping', 'validate', fixture(name));
    expect(result.code).toBe(0);
    expect(result.out.join('\n')).not.toMatch(/error/);
    expect(result.out.at(-1)).toMatch(/loads: \d number/);
  });

  it('rejects with-errors.csv (exit 1), each problem on its physical line, the conflict naming both', async () => {
    const file = fixture('with-errors.csv');
    const result = await run('mapping', 'validate', file);
    expect(result.code).toBe(1);
    const problems = result.out.filter((line) => line.startsWith(`${file}:`) && /^\d+: error: /.test(line.slice(file.length + 1)));
    expect(problems.map((line) => line.slice(file.length + 1).split(':')[0])).toEqual(['3', '4', '5']);
    expect(problems[2]).toMatch(/line 5.*line 2/);
    expect(result.out.at(-1)).toMatch(/rejected: 3 error/);
  });

  it('prints the contract\'s JSON with --json', async () => {
    const bad = await run('mapping', 'validate', fixture('with-errors.csv'), '--json');
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.out.join('\n'));
    expect(Object.keys(report).sort()).toEqual(['entries', 'errors', 'ok', 'warnings']);
    expect(report.ok).toBe(false);
    expect(report.errors.map((e: { line: number }) => e.line)).toEqual([3, 4, 5]);
    expect(report.entries).toEqual([{ phone: '+447700900101', mailbox: 'alice.smith@contoso.example', line: 2 }]);

    const good = await run('mapping', 'validate', '--json', fixture('no-header-mixed-formats.csv'));
    expect(good.code).toBe(0);
    expect(JSON.parse(good.out.join('\n'))).toMatchObject({ ok: true, errors: [], warnings: [] });
    expect(JSON.parse(good.out.join('\n')).entries).toHaveLength(3);
  });

  it('reports a warning but still loads (exit 0)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'o2-mapping-'));
    const file = path.join(dir, 'dup.csv');
    writeFileSync(file, 'Phone;Mailbox\r\n07700 900101;alice@contoso.example\r\n+447700900101;alice@contoso.example\r\n');
    const result = await run('mapping', 'validate', file);
    expect(result.code).toBe(0);
    expect(result.out[0]).toBe(`${file}:3: warning: the phone +4477******01 is mapped to alice@contoso.example again (first on line 2)`);
  });

  it('exits 2 on bad usage: unknown subcommand, no file, missing file, unknown option', async () => {
    for (const argv of [
      ['mapping', 'frobnicate'],
      ['mapping'],
      ['mapping', 'validate'],
      ['mapping', 'validate', path.join(os.tmpdir(), 'no-such-mapping-file.csv')],
      ['mapping', 'validate', fixture('with-errors.csv'), '--force=yes'],
    ]) {
      const result = await run(...argv);
      expect({ argv, code: result.code }).toEqual({ argv, code: 2 });
      expect(result.err).toHaveLength(1);
    }
  });
});

// These use the fixed `mapping` container of the test Azurite, as the CLI
// always does; they run in order within this one test.
describe('o2-archiver mapping upload / show', () => {
  it('uploads a good file, refuses a bad one without change, and shows what is in force', async () => {
    const container = testStorage().container(ContainerNames.mapping);
    const store = createMappingStore(container, { defaultRegion: 'GB' });

    const up = await run('mapping', 'upload', fixture('no-header-mixed-formats.csv'));
    expect(up.code).toBe(0);
    expect(up.out.at(-1)).toMatch(/mapping replaced: 3 number\(s\)/);
    // Counts only on the console: no full number is printed.
    expect(up.out.join('\n')).not.toMatch(/\+?447700900\d{3}/);
    const inForce = await store.currentCsv();

    const bad = await run('mapping', 'upload', fixture('with-errors.csv'));
    expect(bad.code).toBe(1);
    expect(bad.out.at(-1)).toMatch(/rejected.*unchanged/);
    expect(await store.currentCsv()).toBe(inForce);

    const shown = await run('mapping', 'show');
    expect(shown.code).toBe(0);
    expect(shown.out.join('\n')).toBe(
      [
        // Spreadsheet-safe: a leading + would be a formula in Excel (issue 11); the apostrophe reads back as the number.
        'External User ID,Microsoft 365 User Mailbox',
        "'+447700900101,alice.smith@contoso.example",
        "'+447700900102,bob.jones@contoso.example",
        "'+447700900103,carol.white@contoso.example",
      ].join('\n'),
    );
    expect(shown.err[0]).toMatch(/3 number\(s\) mapped, replaced .* by /);

    const json = await run('mapping', 'show', '--json');
    expect(JSON.parse(json.out.join('\n')).entries).toHaveLength(3);
  });
});
