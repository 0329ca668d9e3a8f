/**
 * What an archive run leaves in the mailboxes, read back through the Graph
 * API as an admin's tool would (https, the emulator's token and CA): every
 * message in the archive folder, received-looking, with its contract
 * Message-ID, its item id and its attachments' bytes; and the same window run
 * three times imports each unit once.
 */
import { checkBalance } from '../../shared/run/report';
import {
  contractMessageId,
  emlFiles,
  readMailboxesThroughGraph,
  startTestStack,
  toWholeSecond,
  SAMPLE_WINDOW,
  type GraphEndpoint,
  type MessageReadBack,
  type TestStack,
} from '../support/stack';

const FOLDER = 'O2 SMS and Voice Network Archiver';

interface MediaDescriptor {
  sha256: string;
}

interface SourceRecord {
  id: string;
  type: 'sms' | 'mms' | 'voice';
  timestamp: string;
  media?: MediaDescriptor[];
  call?: { recording?: MediaDescriptor | null };
}

function mediaOf(record: SourceRecord): string[] {
  const list = record.type === 'voice' ? (record.call?.recording ? [record.call.recording] : []) : (record.media ?? []);
  return list.map((m) => m.sha256.toLowerCase()).sort();
}

/** Messages per mailbox per item id: a unit imported twice shows as a count above 1. */
function copiesPerUnit(messages: readonly MessageReadBack[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(`${m.mailbox}|${m.itemId}`, (counts.get(`${m.mailbox}|${m.itemId}`) ?? 0) + 1);
  return counts;
}

describe('import read back through the Graph API', () => {
  let env: TestStack;
  let graph: GraphEndpoint;

  beforeAll(async () => {
    env = await startTestStack();
    graph = { url: env.stack.graph.url, token: env.stack.graph.token, caCertPem: env.stack.graph.caCertPem };
  });

  afterAll(async () => {
    await env?.stack.stop();
  });

  it('puts every unit once in the archive folder, received-looking, with its Message-ID, item id and intact attachments; two more runs only find duplicates', async () => {
    const first = await env.runner.waitForRun(await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW }));
    const report = first.report!;
    expect(checkBalance(report.counts)).toEqual([]);
    expect(report.status).toBe('completed');
    expect(report.counts.imported).toBe(report.counts.importUnits);
    expect(report.counts.imported).toBeGreaterThan(0);

    const records = new Map((env.stack.sample.records as SourceRecord[]).map((r) => [r.id, r]));
    const messages = await readMailboxesThroughGraph(graph, { attachments: true });
    expect(messages).toHaveLength(report.counts.imported);
    for (const m of messages) {
      expect(m.itemId).toBeDefined();
      const record = records.get(m.itemId!);
      expect(record).toBeDefined();
      // One assertion object per message, so a failure names the item and every field at once.
      expect({ item: m.itemId, folder: m.folderName, isDraft: m.isDraft, received: m.receivedDateTime, messageId: m.internetMessageId }).toEqual({
        item: record!.id,
        folder: FOLDER,
        isDraft: false,
        received: toWholeSecond(record!.timestamp),
        messageId: contractMessageId(record!.id),
      });
      expect({ item: m.itemId, attachments: m.attachments.map((a) => a.sha256).sort() }).toEqual({ item: record!.id, attachments: mediaOf(record!) });
    }
    const types = (type: SourceRecord['type']) => messages.filter((m) => records.get(m.itemId!)!.type === type && m.attachments.length > 0);
    expect(types('mms').length).toBeGreaterThan(0);
    expect(types('voice').length).toBeGreaterThan(0);
    expect([...copiesPerUnit(messages).values()].every((n) => n === 1)).toBe(true);

    for (const round of [2, 3]) {
      const again = await env.runner.waitForRun(await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW }));
      const r = again.report!;
      expect({ round, status: r.status, balance: checkBalance(r.counts) }).toEqual({ round, status: 'completed', balance: [] });
      expect({ round, units: r.counts.importUnits, imported: r.counts.imported, duplicates: r.counts.duplicates, failed: r.counts.failed, partial: r.counts.partial }).toEqual({
        round,
        units: report.counts.importUnits,
        imported: 0,
        duplicates: report.counts.importUnits,
        failed: 0,
        partial: 0,
      });
    }
    const after = await readMailboxesThroughGraph(graph);
    expect(after).toHaveLength(report.counts.imported);
    expect([...copiesPerUnit(after).values()].every((n) => n === 1)).toBe(true);
    // The emulator writes a second copy of an item as `<item id> (2).eml`.
    const files = emlFiles(env.stateDir);
    expect(files).toHaveLength(report.counts.imported);
    expect(files.filter((f) => / \(\d+\)\.eml$/.test(f))).toEqual([]);
  });
});
