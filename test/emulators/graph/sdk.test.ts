/**
 * The Graph JavaScript SDK against the emulator from another process that
 * trusts the certificate through NODE_EXTRA_CA_CERTS: the token reaches the
 * emulator (https + customHosts) and LargeFileUploadTask leaves it off the
 * upload URL (another host, as outlook.office.com is).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startGraphEmulator } from '../../../local/emulators/graph';
import { users } from './fixtures';

it('works with @microsoft/microsoft-graph-client, including an upload session', async () => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'graph-emulator-sdk-'));
  const emulator = await startGraphEmulator({ users, stateDir, token: 'sdk-token', faultRate: 0 });
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(__dirname, 'sdk-child.js')], {
      cwd: path.join(__dirname, '../../..'),
      env: { ...process.env, NODE_EXTRA_CA_CERTS: emulator.caCertPath, GRAPH_BASE_URL: emulator.url, GRAPH_DEV_TOKEN: emulator.token },
    });
    const out = JSON.parse(stdout);
    expect(out).toEqual({
      user: 'bob@contoso.test',
      duplicateStatus: 409,
      duplicateCode: 'ErrorFolderExists',
      isDraft: false,
      uploadLocation: expect.stringContaining('/Attachments('),
      attachmentNames: ['big.bin'],
    });
  } finally {
    await emulator.stop();
  }
});
