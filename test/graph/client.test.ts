import { createGraphClient, splitGraphBaseUrl } from '../../shared/platform/graph/client';
import { userAddressFilter } from '../../shared/platform/graph/directory';
import { classifyGraphError, GraphRequestError, toGraphRequestError } from '../../shared/platform/graph/errors';
import type { HttpRequest } from '../../shared/platform/graph/http';
import { createMailboxGate } from '../../shared/stages/import/pacing';
import { RetryBudgetExhaustedError } from '../../shared/platform/retry';
import { testSettings } from '../support/storage';

const graphError = (statusCode: number, headers: Record<string, string> = {}, code = 'Some') => ({
  statusCode,
  code,
  headers: new Headers(headers),
});

describe('Graph error classification', () => {
  it('retries 429 and 503 after their Retry-After, 500/502/504 with backoff, and not other 4xx', () => {
    expect(classifyGraphError(graphError(429, { 'Retry-After': '7' }))).toEqual({ retry: true, retryAfterInMs: 7000 });
    expect(classifyGraphError(graphError(503, { 'Retry-After': '2' }))).toEqual({ retry: true, retryAfterInMs: 2000 });
    for (const s of [500, 502, 504]) expect(classifyGraphError(graphError(s, { 'Retry-After': '9' }))).toEqual({ retry: true });
    for (const s of [400, 401, 403, 404, 409, 413]) expect(classifyGraphError(graphError(s))).toEqual({ retry: false });
  });

  it('retries a dropped connection (no response at all)', () => {
    expect(classifyGraphError({ statusCode: -1, code: 'GraphNetworkError', message: 'ECONNRESET: socket hang up' })).toEqual({ retry: true });
  });

  it('names status and Graph code in the detail, and says when the budget ran out', () => {
    const final = toGraphRequestError(graphError(409, {}, 'ErrorFolderExists'), 'create folder');
    expect(final).toBeInstanceOf(GraphRequestError);
    expect(final.detail).toBe('status 409 ErrorFolderExists');
    const spent = toGraphRequestError(new RetryBudgetExhaustedError('graphRetry', 12, graphError(503, {}, 'ServiceUnavailable')), 'create message');
    expect(spent.code).toBe('GRAPH_UNAVAILABLE');
    expect(spent.detail).toBe('status 503 ServiceUnavailable retry budget exhausted');
  });
});

describe('Graph client', () => {
  it('splits GRAPH_BASE_URL into the SDK base URL and version', () => {
    expect(splitGraphBaseUrl('https://graph.microsoft.com/v1.0')).toEqual({ baseUrl: 'https://graph.microsoft.com', version: 'v1.0', host: 'graph.microsoft.com' });
    expect(splitGraphBaseUrl('https://127.0.0.1:8443/graph/v1.0/')).toEqual({ baseUrl: 'https://127.0.0.1:8443/graph', version: 'v1.0', host: '127.0.0.1' });
  });

  it('sends the dev token to a local https host and retries a 503 after its Retry-After (scaled)', async () => {
    const seen: HttpRequest[] = [];
    let calls = 0;
    const transport = async (request: HttpRequest) => {
      seen.push(request);
      calls++;
      if (calls === 1) return new Response(JSON.stringify({ error: { code: 'ServiceUnavailable', message: 'x' } }), { status: 503, headers: { 'Retry-After': '4', 'Content-Type': 'application/json' } });
      return new Response(JSON.stringify({ value: [{ id: 'u1' }] }), { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
    const sleeps: number[] = [];
    const client = createGraphClient(
      testSettings({ GRAPH_BASE_URL: 'https://127.0.0.1:9/v1.0', GRAPH_DEV_TOKEN: 'tok', RETRY_TIME_SCALE: '0.01' }),
      { transport, sleep: async (ms) => void sleeps.push(ms) },
    );
    const page = await client.call('list users', (sdk) => sdk.api('/users').get() as Promise<{ value: { id: string }[] }>);
    expect(page.value[0].id).toBe('u1');
    expect(seen[0].url).toBe('https://127.0.0.1:9/v1.0/users');
    expect(seen.every((r) => r.headers?.Authorization === 'Bearer tok')).toBe(true);
    expect(sleeps).toEqual([4000 * 0.01]);
  });

  it('refuses to build without a credential, naming the setting', () => {
    expect(() => createGraphClient(testSettings({}))).toThrow(/GRAPH_TENANT_ID/);
  });

  it('quotes OData string literals in the user filter', () => {
    expect(userAddressFilter("O'Brien@Contoso.com")).toBe(
      "userPrincipalName eq 'o''brien@contoso.com' or mail eq 'o''brien@contoso.com' or proxyAddresses/any(x:x eq 'smtp:o''brien@contoso.com')",
    );
  });
});

describe('mailbox gate', () => {
  it('never lets more than maxConcurrent attempts run at once', async () => {
    const gate = createMailboxGate({ maxConcurrent: 3, requestsPer10Min: 10_000, uploadBytesPer5Min: 150e6 });
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        gate.run(async () => {
          running++;
          most = Math.max(most, running);
          await new Promise((resolve) => setTimeout(resolve, 2));
          running--;
        }, 0),
      ),
    );
    expect(most).toBe(3);
    expect(gate.maxInFlightSeen).toBe(3);
  });

  it('spaces requests evenly at 95% of the budget, never more than the budget in any window, and waits out a pause', async () => {
    let clock = 0;
    const waits: number[] = [];
    const admitted: number[] = [];
    const gate = createMailboxGate({
      maxConcurrent: 1,
      requestsPer10Min: 20, // 95% of it: 19 per window, one every 600 s / 19
      uploadBytesPer5Min: 150e6,
      now: () => clock,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
    });
    for (let i = 0; i < 40; i++) await gate.run(async () => void admitted.push(clock), 0);
    // The first goes at once; the rest one interval apart, not all at once and then a stall of the whole window.
    expect(waits.slice(0, 5)).toEqual([31_579, 31_579, 31_579, 31_579, 31_579]);
    for (let i = 1; i < admitted.length; i++) expect(admitted[i] - admitted[i - 1]).toBeGreaterThanOrEqual(31_578);
    // However the windows fall, never more than the budget in one.
    for (const start of admitted) expect(admitted.filter((t) => t >= start && t < start + 600_000).length).toBeLessThanOrEqual(19);
    gate.pause(100_000);
    const before = clock;
    await gate.run(async () => undefined, 0);
    expect(clock - before).toBeGreaterThanOrEqual(100_000);
  });

  it('paces uploads under the bytes budget', async () => {
    let clock = 0;
    const waits: number[] = [];
    const gate = createMailboxGate({
      maxConcurrent: 1,
      requestsPer10Min: 10_000,
      uploadBytesPer5Min: 10_000_000, // 9.5 MB usable
      now: () => clock,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
    });
    await gate.run(async () => undefined, 4_000_000);
    clock += 1_000;
    await gate.run(async () => undefined, 4_000_000);
    await gate.run(async () => undefined, 4_000_000);
    // The first 4 MB leaves the window 300 s after it went, 299 s from now.
    expect(waits).toEqual([299_000]);
  });
});
