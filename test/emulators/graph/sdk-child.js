/**
 * Run in a child process with NODE_EXTRA_CA_CERTS set to the emulator's
 * certificate: drives the emulator through @microsoft/microsoft-graph-client
 * exactly as the importer would (customHosts so the token reaches 127.0.0.1,
 * LargeFileUploadTask for an upload session) and prints a JSON summary.
 */
const { Client, LargeFileUploadTask, FileUpload } = require('@microsoft/microsoft-graph-client');

async function main() {
  const baseUrl = process.env.GRAPH_BASE_URL;
  const token = process.env.GRAPH_DEV_TOKEN;
  const url = new URL(baseUrl);
  const client = Client.init({
    baseUrl: `${url.origin}/`,
    defaultVersion: url.pathname.replace(/^\//, ''),
    customHosts: new Set([url.hostname]),
    authProvider: (done) => done(null, token),
  });
  const out = {};
  const users = await client.api('/users').filter("mail eq 'bob@contoso.test'").select('id,userPrincipalName').get();
  out.user = users.value[0].userPrincipalName;
  const folder = await client.api('/users/bob@contoso.test/mailFolders').post({ displayName: 'SDK folder' });
  try {
    await client.api('/users/bob@contoso.test/mailFolders').post({ displayName: 'SDK folder' });
  } catch (e) {
    out.duplicateStatus = e.statusCode;
    out.duplicateCode = e.code;
  }
  const message = await client.api(`/users/bob@contoso.test/mailFolders/${encodeURIComponent(folder.id)}/messages`).post({
    subject: 'via sdk',
    singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '1' }],
  });
  out.isDraft = message.isDraft;
  const size = 3 * 1024 * 1024 + 5000;
  const content = Buffer.alloc(size, 1);
  const session = await LargeFileUploadTask.createUploadSession(client,
    `/users/bob@contoso.test/messages/${encodeURIComponent(message.id)}/attachments/createUploadSession`,
    { AttachmentItem: { attachmentType: 'file', name: 'big.bin', size } });
  const task = new LargeFileUploadTask(client, new FileUpload(content, 'big.bin', size), session, { rangeSize: 2 * 1024 * 1024 });
  const result = await task.upload();
  out.uploadLocation = result.location;
  const atts = await client.api(`/users/bob@contoso.test/messages/${encodeURIComponent(message.id)}/attachments`).select('name,size').get();
  out.attachmentNames = atts.value.map((a) => a.name);
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n${JSON.stringify(e)}\n`);
  process.exit(1);
});
