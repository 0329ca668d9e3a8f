/**
 * `o2-archiver run` in-process: exit codes, the report file and its failures
 * CSV, bad usage, and a wrong TeleMessage password.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../local/cli/main';
import { captureIo, stackForCli } from '../support/cli';
import { SAMPLE_WINDOW } from '../support/stack';

describe('o2-archiver run', () => {
  const stack = stackForCli();

  it('runs a window, writes the report and its failures CSV, and exits 0 when completed', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'o2-cli-'));
    const reportFile = path.join(dir, 'report.json');
    const { io, out } = captureIo();
    const code = await main(['run', '--from', SAMPLE_WINDOW.from, `--to=${SAMPLE_WINDOW.to}`, '--report', reportFile], io);
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    expect(report.status).toBe('completed');
    expect(report.trigger).toBe('cli');
    expect(report.window).toEqual(SAMPLE_WINDOW);
    const csv = readFileSync(path.join(dir, 'report.failures.csv'), 'utf8').split('\r\n');
    expect(csv[0]).toBe('itemId,type,mailbox,reason,detail');
    expect(csv.filter((l) => l.length > 0)).toHaveLength(report.failures.length + 1);
    expect(out.join('\n')).toContain(report.runId);
  });

  it('a wrong TeleMessage password is a failed run: one line naming the setting, exit 3, no stack', async () => {
    process.env.TELEMESSAGE_PASSWORD = 'not-the-password';
    try {
      const { io, err } = captureIo();
      const code = await main(['run', '--from', '2026-11-25', '--to', '2026-11-25T06:00:00Z'], io);
      expect(code).toBe(3);
      const failure = err.filter((l) => l.startsWith('o2-archiver:'));
      expect(failure).toHaveLength(1);
      expect(failure[0]).toContain('TELEMESSAGE_PASSWORD');
      expect(err.join('\n')).not.toMatch(/\n\s+at /);
    } finally {
      process.env.TELEMESSAGE_PASSWORD = stack.env.stack.env.TELEMESSAGE_PASSWORD;
    }
  });

  it.each([
    [['run', '--to', SAMPLE_WINDOW.to], '--from is required'],
    [['run', '--from', SAMPLE_WINDOW.to, '--to', SAMPLE_WINDOW.from], '--from must be before --to'],
    [['run', '--from', 'yesterday', '--to', SAMPLE_WINDOW.to], 'not an ISO 8601 instant'],
    [['run', '--from', SAMPLE_WINDOW.from, '--to', SAMPLE_WINDOW.to, '--window', 'x'], 'unknown option --window'],
  ])('bad usage %j exits 2 with one line', async (argv, message) => {
    const { io, err } = captureIo();
    expect(await main(argv as string[], io)).toBe(2);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain(message);
  });

  it('a malformed setting exits 2 naming it', async () => {
    process.env.MAX_ITEM_BYTES = 'ten megabytes';
    try {
      const { io, err } = captureIo();
      expect(await main(['run', '--from', SAMPLE_WINDOW.from, '--to', SAMPLE_WINDOW.to], io)).toBe(2);
      expect(err[0]).toContain('MAX_ITEM_BYTES');
    } finally {
      delete process.env.MAX_ITEM_BYTES;
    }
  });
});
