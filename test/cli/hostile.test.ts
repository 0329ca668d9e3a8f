/**
 * Hostile input through the command line, read back (issue 11): CSV files an
 * admin opens in a spreadsheet never hold a formula, and what `mapping show`
 * prints uploads again unchanged in meaning; a window of any length and a
 * date that does not exist are bad usage (exit 2) before anything starts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Papa from 'papaparse';
import { main } from '../../local/cli/main';
import { captureIo, stackForCli } from '../support/cli';

/** What Excel and LibreOffice run as a formula: = + - @ (or full-width) first, also after spaces; or a leading TAB or CR. */
const FORMULA = /^(?:[\t\r]|\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/;

function cells(csv: string): string[] {
  const parsed = Papa.parse<string[]>(csv, { newline: csv.includes('\r\n') ? '\r\n' : '\n', skipEmptyLines: true });
  expect(parsed.errors).toEqual([]);
  return parsed.data.flat();
}

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'o2-hostile-'));

describe('hostile input through the command line', () => {
  const stack = stackForCli();

  it('mapping show prints no formula cell, and its output uploads again to the same mapping', async () => {
    const dir = tmp();
    const file = path.join(dir, 'mapping.csv');
    // Mailboxes that are valid addresses and start like formulas, one starting with an apostrophe of its own.
    writeFileSync(file, [
      'Phone,Mailbox',
      '+44 7700 900101,alice.smith@contoso.example',
      '07700 900102,-ops@contoso.example',
      '447700900103,+sales@contoso.example',
      '0044 7700 900104,=cmd@contoso.example',
      "+447700900105,'=quoted@contoso.example",
      '+447700900106,@@contoso.example',
    ].join('\n'));
    const upload = captureIo();
    const uploaded = await main(['mapping', 'upload', file], upload.io);
    // `@@contoso.example` is not an address: the file is rejected whole, so leave it out and go again.
    expect(uploaded).toBe(1);
    writeFileSync(file, readFileSync(file, 'utf8').split('\n').slice(0, -1).join('\n'));
    expect(await main(['mapping', 'upload', file], captureIo().io)).toBe(0);

    const before = captureIo();
    expect(await main(['mapping', 'show', '--json'], before.io)).toBe(0);
    const entries = JSON.parse(before.out.join('\n')).entries;
    expect(entries).toHaveLength(5);
    expect(entries).toContainEqual({ phone: '+447700900105', mailbox: "'=quoted@contoso.example" });

    const shown = captureIo();
    expect(await main(['mapping', 'show'], shown.io)).toBe(0);
    const csv = shown.out.join('\n') + '\n';
    expect(cells(csv).filter((c) => FORMULA.test(c))).toEqual([]);

    // `mapping show > file.csv`, then `mapping upload file.csv`: the same numbers to the same mailboxes.
    const again = path.join(dir, 'shown.csv');
    writeFileSync(again, csv);
    const validate = captureIo();
    expect(await main(['mapping', 'validate', again, '--json'], validate.io)).toBe(0);
    expect(JSON.parse(validate.out.join('\n')).errors).toEqual([]);
    expect(await main(['mapping', 'upload', again], captureIo().io)).toBe(0);
    const after = captureIo();
    expect(await main(['mapping', 'show', '--json'], after.io)).toBe(0);
    expect(JSON.parse(after.out.join('\n')).entries).toEqual(entries);
  });

  it('runs show --format csv holds no formula cell, whatever the source sent as ids', async () => {
    const hostileIds = ['\t=HYPERLINK("http://evil.example","x")', '\r+1+1', ' =1+1', '@SUM(A1)', '-2+3', '\uFF1D1+1'];
    stack.env.stack.telemessage.addItems(
      hostileIds.map((id, i) => ({
        id, type: 'sms', direction: 'sideways', timestamp: `2026-11-27T00:1${i}:00Z`,
        from: { phone: '+447700900555' }, to: [{ phone: '+447700900101' }], text: '=cmd|" /C calc"!A0',
      })),
    );
    const dir = tmp();
    const reportFile = path.join(dir, 'report.json');
    await main(['run', '--from', '2026-11-27T00:00:00Z', '--to', '2026-11-27T01:00:00Z', '--report', reportFile], captureIo().io);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.counts.invalid).toBe(hostileIds.length);

    const shown = captureIo();
    expect(await main(['runs', 'show', report.runId, '--format', 'csv'], shown.io)).toBe(0);
    const written = [shown.out.join('\n'), readFileSync(path.join(dir, 'report.failures.csv'), 'utf8')];
    for (const csv of written) {
      const all = cells(csv);
      expect(all.length).toBeGreaterThan(hostileIds.length * 5 - 1);
      expect(all.filter((c) => FORMULA.test(c))).toEqual([]);
      // Defused, not lost: each id is there behind one apostrophe.
      for (const id of hostileIds) expect(all).toContain(`'${id}`);
    }
  });

  it('run refuses a window longer than MAX_WINDOW_DAYS with exit 2 and one line naming the setting', async () => {
    for (const [from, to] of [['0000-01-01', '9999-12-31'], ['2026-01-01', '2026-02-01T00:00:01Z']]) {
      const { io, err } = captureIo();
      expect([from, to, await main(['run', '--from', from, '--to', to], io)]).toEqual([from, to, 2]);
      expect(err).toHaveLength(1);
      expect(err[0]).toMatch(/MAX_WINDOW_DAYS allows at most 31/);
    }
  });

  it('run refuses a date or time that does not exist with exit 2, never rolling it over', async () => {
    for (const bad of ['2026-02-30', '2026-02-29', '2026-04-31', '2026-13-01', '2026-11-25T24:00:00Z', '2026-11-25T10:60:00Z', '2026-11-25T10:00:00+24:00']) {
      const { io, err } = captureIo();
      expect([bad, await main(['run', '--from', bad, '--to', '2026-03-03'], io)]).toEqual([bad, 2]);
      expect(err).toHaveLength(1);
      expect(err[0]).toContain(`--from '${bad}'`);
    }
  });
});
