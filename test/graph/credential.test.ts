/**
 * Which credential reaches Graph: an app registration wins over the managed
 * identity, whose client id also serves storage.
 */
import { readSettings } from '../../shared/platform/config';
import { createGraphClient } from '../../shared/platform/graph';

const REAL_GRAPH = { GRAPH_BASE_URL: 'https://graph.microsoft.com/v1.0', AzureWebJobsStorage__accountName: 'o2arch' };

describe('the Graph credential', () => {
  it('uses the app registration when one is given, even beside a managed identity', () => {
    const graph = createGraphClient(readSettings({
      ...REAL_GRAPH, AZURE_CLIENT_ID: '11111111-1111-1111-1111-111111111111',
      GRAPH_TENANT_ID: 'contoso.example', GRAPH_CLIENT_ID: '22222222-2222-2222-2222-222222222222', GRAPH_CLIENT_SECRET: 'x',
    }));
    expect(graph.credentialKind).toBe('client-secret');
  });

  it('uses the managed identity when no app registration is given', () => {
    const graph = createGraphClient(readSettings({ ...REAL_GRAPH, AZURE_CLIENT_ID: '11111111-1111-1111-1111-111111111111' }));
    expect(graph.credentialKind).toBe('managed-identity');
  });

  it('names the missing setting when there is no credential at all', () => {
    expect(() => createGraphClient(readSettings(REAL_GRAPH))).toThrow(/GRAPH_TENANT_ID/);
  });
});
