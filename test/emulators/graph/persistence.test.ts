/** State under stateDir: messages survive a restart, and each is kept as .eml under mailboxes/<upn>/<folder>/. */
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { startGraphEmulator } from '../../../local/emulators/graph';
import { client, enc } from './http';
import { archivedMessage, FOLDER, ITEM_PROP, users } from './fixtures';

describe('persistence', () => {
  it('keeps folders, messages and attachments across a restart with the same stateDir, and the certificate and its file', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'graph-emulator-'));
    const first = await startGraphEmulator({ users, stateDir, faultRate: 0 });
    let api = client(first);
    const folder = await api.post('/users/alice@contoso.test/mailFolders', { displayName: FOLDER });
    const content = Buffer.from('voice recording bytes');
    const itemId = 'tm:sms/2026-11-25/0001?x=1';
    const created = await api.post(`/users/alice@contoso.test/mailFolders/${enc(folder.json.id)}/messages`, archivedMessage(itemId, {
      attachments: [{ '@odata.type': '#microsoft.graph.fileAttachment', name: 'note.txt', contentType: 'text/plain', contentBytes: content.toString('base64') }],
    }));
    expect(created.status).toBe(201);
    const port = first.port;
    const certPath = first.caCertPath!;
    expect(readFileSync(certPath, 'utf8')).toBe(first.caCertPem);

    const emlDir = path.join(stateDir, 'mailboxes', 'alice@contoso.test', FOLDER);
    const files = readdirSync(emlDir);
    expect(files).toEqual([`${'tm%3Asms%2F2026-11-25%2F0001%3Fx=1'}.eml`]);
    const parsed = await simpleParser(readFileSync(path.join(emlDir, files[0])));
    expect(parsed.messageId).toBe(`<${itemId}@o2-network-archiver>`);
    expect(parsed.headers.get('x-o2archiver-item-id')).toBe(itemId);
    expect(parsed.attachments[0].content.equals(content)).toBe(true);
    await first.stop();

    const second = await startGraphEmulator({ users, stateDir, port, faultRate: 0 });
    try {
      expect(second.port).toBe(port);
      expect(second.caCertPem).toBe(first.caCertPem);
      api = client(second);
      const filter = `singleValueExtendedProperties/any(ep: ep/id eq '${ITEM_PROP}' and ep/value eq '${itemId.replace(/'/g, "''")}')`;
      const found = await api.get(`/users/alice@contoso.test/mailFolders/${enc(folder.json.id)}/messages?$filter=${enc(filter)}&$expand=attachments`);
      expect(found.status).toBe(200);
      expect(found.json.value).toHaveLength(1);
      expect(found.json.value[0].id).toBe(created.json.id);
      expect(found.json.value[0].isDraft).toBe(false);
      expect(Buffer.from(found.json.value[0].attachments[0].contentBytes, 'base64').equals(content)).toBe(true);
      const dup = await api.post('/users/alice@contoso.test/mailFolders', { displayName: FOLDER });
      expect(dup.status).toBe(409);

      // A second copy of the same item is visible as a second file, not hidden by an overwrite.
      await api.post(`/users/alice@contoso.test/mailFolders/${enc(folder.json.id)}/messages`, archivedMessage(itemId));
      expect(readdirSync(emlDir).sort()).toEqual(['tm%3Asms%2F2026-11-25%2F0001%3Fx=1 (2).eml', 'tm%3Asms%2F2026-11-25%2F0001%3Fx=1.eml']);
      await api.del(`/users/alice@contoso.test/messages/${enc(created.json.id)}`);
      expect(existsSync(path.join(emlDir, 'tm%3Asms%2F2026-11-25%2F0001%3Fx=1.eml'))).toBe(false);
    } finally {
      await second.stop();
    }
  });

  it('resumes an upload session after a restart', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'graph-emulator-'));
    const first = await startGraphEmulator({ users, stateDir, faultRate: 0 });
    let api = client(first);
    const created = await api.post('/users/bob@contoso.test/mailFolders/inbox/messages', archivedMessage('resume'));
    const content = Buffer.alloc(3 * 1024 * 1024 + 10, 7);
    const session = await api.post(`/users/bob@contoso.test/messages/${enc(created.json.id)}/attachments/createUploadSession`,
      { AttachmentItem: { attachmentType: 'file', name: 'big.bin', size: content.length } });
    const url: string = session.json.uploadUrl;
    const put = (start: number, end: number) => api.anonymous('PUT', url, {
      raw: content.subarray(start, end + 1), headers: { 'Content-Range': `bytes ${start}-${end}/${content.length}`, 'Content-Type': 'application/octet-stream' },
    });
    expect((await put(0, 999_999)).status).toBe(200);
    const port = first.port;
    await first.stop();
    const second = await startGraphEmulator({ users, stateDir, port, faultRate: 0 });
    try {
      api = client(second);
      const status = await api.anonymous('GET', url);
      expect(status.json.nextExpectedRanges).toEqual(['1000000']);
      expect((await put(1_000_000, content.length - 1)).status).toBe(201);
      const atts = await api.get(`/users/bob@contoso.test/messages/${enc(created.json.id)}/attachments?$select=name,size`);
      expect(atts.json.value[0].name).toBe('big.bin');
    } finally {
      await second.stop();
    }
  });
});
