/**
 * Attachments through the public command line into the strict Graph emulator,
 * read back through the Graph API (issue 11): a file on either side of every
 * size line Graph documents (a POST under 3 MB, an upload session from 3 MB)
 * arrives whole, none ends `partial`; and a message re-created without a
 * refused attachment lists a file name with `$` patterns as it is, its body
 * intact.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../local/cli/main';
import { checkBalance, type RunReport } from '../../shared/run/report';
import { captureIo, stackForCli } from '../support/cli';
import { graphGet, readMailboxesThroughGraph, type GraphEndpoint } from '../support/stack';

jest.setTimeout(300_000);

const FOLDER = 'O2 SMS and Voice Network Archiver';

/** An MMS from Alice (mapped) to a number of nobody's, with one media file of `size` bytes. */
function mms(id: string, timestamp: string, size: number, fileName: string, fill: number) {
  const bytes = Buffer.alloc(size, fill);
  return {
    record: {
      id, type: 'mms', direction: 'outbound', timestamp,
      from: { phone: '+447700900101', email: 'alice.smith@contoso.example', name: 'Alice Smith' },
      to: [{ phone: '+447700900555', email: null, name: null }],
      text: `file of ${size} bytes`,
      media: [{ id: 'm1', fileName, contentType: 'application/octet-stream', size, sha256: createHash('sha256').update(bytes).digest('hex'), dataBase64: bytes.toString('base64') }],
    },
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

async function run(from: string, to: string): Promise<RunReport> {
  const reportFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'o2-sizes-')), 'report.json');
  const { io, err } = captureIo();
  const code = await main(['run', '--from', from, '--to', to, '--report', reportFile], io);
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as RunReport;
  expect({ code, err: err.filter((l) => l.startsWith('o2-archiver:')) }).toEqual({ code: report.status === 'completed' ? 0 : 1, err: [] });
  expect(checkBalance(report.counts)).toEqual([]);
  return report;
}

describe('attachment sizes through o2-archiver run, read back through Graph', () => {
  const stack = stackForCli();
  const graph = (): GraphEndpoint => ({ url: stack.env.stack.graph.url, token: stack.env.stack.graph.token, caCertPem: stack.env.stack.graph.caCertPem });

  it('imports a file on either side of every size line whole: none is partial', async () => {
    // Around the line between a POST and an upload session (3,000,000), and where 3 MiB would put it.
    const sizes = [2_999_999, 3_000_000, 3_145_727, 3_145_728];
    const items = sizes.map((size, i) => mms(`tm-size-${size}`, `2026-11-27T00:1${i}:00Z`, size, `size-${size}.bin`, i + 1));
    stack.env.stack.telemessage.addItems(items.map((i) => i.record));
    const report = await run('2026-11-27T00:00:00Z', '2026-11-27T01:00:00Z');
    expect(report.counts).toMatchObject({ sourceItems: sizes.length, routedItems: sizes.length, importUnits: sizes.length, imported: sizes.length, partial: 0, failed: 0 });
    expect(report.failures).toEqual([]);

    const messages = await readMailboxesThroughGraph(graph(), { attachments: true });
    for (const item of items) {
      const found = messages.filter((m) => m.itemId === item.record.id && m.folderName === FOLDER);
      expect({ id: item.record.id, copies: found.length, attachments: found[0]?.attachments.map((a) => a.sha256) }).toEqual({ id: item.record.id, copies: 1, attachments: [item.sha256] });
    }
  });

  it('lists a refused attachment whose name holds $ patterns as it is, in a body left intact', async () => {
    // A call's summary is HTML: its recording, refused, is listed before </body> of the re-created message.
    const bytes = Buffer.alloc(3_100_000, 9);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const record = {
      id: 'tm-dollar-name', type: 'voice', direction: 'inbound', timestamp: '2026-11-27T02:10:00Z',
      from: { phone: '+447700900555', email: null, name: null },
      to: [{ phone: '+447700900101', email: 'alice.smith@contoso.example', name: 'Alice Smith' }],
      text: null,
      call: {
        durationSeconds: 125, status: 'answered',
        recording: { id: 'r1', fileName: "report $'x$`y$&.wav", contentType: 'audio/wav', size: bytes.length, sha256, dataBase64: bytes.toString('base64') },
      },
    };
    stack.env.stack.telemessage.addItems([record]);
    // Graph refusing attachments on a message that is not a draft: the unit is partial, the message re-created without it.
    stack.env.stack.graph.setOption('nonDraftAttachments', 'refuse');
    let report: RunReport;
    try {
      report = await run('2026-11-27T02:00:00Z', '2026-11-27T03:00:00Z');
    } finally {
      stack.env.stack.graph.setOption('nonDraftAttachments', 'allow');
    }
    expect(report.counts).toMatchObject({ importUnits: 1, partial: 1 });
    expect(report.failures.map((f) => [f.itemId, f.reason])).toEqual([['tm-dollar-name', 'attachment-refused']]);

    // The copy in the archive folder (a message deleted on the way may sit in Deleted Items, as Exchange keeps it).
    const kept = (await readMailboxesThroughGraph(graph())).filter((m) => m.itemId === 'tm-dollar-name' && m.folderName === FOLDER);
    expect(kept).toHaveLength(1);
    const [message] = kept;
    const read = await graphGet(graph(), `/users/${encodeURIComponent('alice.smith@contoso.example')}/messages/${encodeURIComponent(message.id)}?$select=body`);
    const body = (JSON.parse(read.body.toString('utf8')) as { body: { contentType: string; content: string } }).body;
    expect(body.contentType.toLowerCase()).toBe('html');
    expect(body.content).toContain(`report $'x$\`y$&amp;.wav (3100000 bytes, SHA-256 ${sha256})`);
    expect(body.content.match(/<h2>/g)).toHaveLength(1);
    expect(body.content.match(/<\/body>/gi)).toHaveLength(1);
    expect(body.content.match(/<html/gi)).toHaveLength(1);
    expect(body.content.match(/Attachments not imported/g)).toHaveLength(1);
  });
});
