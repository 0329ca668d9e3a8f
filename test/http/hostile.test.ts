/**
 * Hostile input through the HTTP API, read back (issue 11): a window of any
 * length or a date that does not exist is refused before anything starts; a
 * body is read with a limit also on the Azure path; a start hands out no
 * Durable management URL; phone numbers in full need the admin key; who
 * replaced the mapping comes from what the platform vouches for; and the local
 * `serve` answers malformed requests with 400 and lists no route without a key.
 */
import net from 'node:net';
import { HttpRequest, InvocationContext, type HttpRequestInit, type HttpResponseInit } from '@azure/functions';
import { mappingHttp } from '../../functions/mappingHttp';
import { startRunHttp } from '../../functions/startRunHttp';
import { startServe, type ServeHandle } from '../../local/cli/commands/serve';
import { createAppHost, useAppHost } from '../../shared/app/root';
import { durableRunStarter, type DurableClientLike } from '../../shared/http/host';
import { maskPhone } from '../../shared/model/phone';
import type { RunReport } from '../../shared/run/report';
import { instanceIdForWindow } from '../../shared/run/window';
import { SAMPLE_WINDOW, startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(240_000);

const KEYS = { functionKey: 'hostile-function-key-0123456789', adminKey: 'hostile-admin-key-0123456789abc' };

describe('hostile input through the HTTP API', () => {
  let env: TestStack;
  let serve: ServeHandle;

  beforeAll(async () => {
    // MAX_WINDOW_DAYS=1: the sample day is the longest window a run may cover.
    env = await startTestStack({ env: { MAX_WINDOW_DAYS: '1' }, sample: { generatedItems: 8, bigItems: false } });
    serve = await startServe({ settings: env.stack.settings, runner: env.runner, keys: KEYS, port: 0 });
  });

  afterAll(async () => {
    await serve?.stop();
    await env?.stack.stop();
  });

  async function call(method: string, route: string, options: { key?: string; body?: string; type?: string; query?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers['x-functions-key'] = options.key;
    if (options.type) headers['content-type'] = options.type;
    const response = await fetch(`${serve.url}/api/${route}${options.query ?? ''}`, { method, headers, body: options.body });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // HTML or CSV
    }
    return { status: response.status, text, json };
  }

  const startBody = (from: string, to: string) => ({ key: KEYS.functionKey, type: 'application/json', body: JSON.stringify({ from, to }) });

  /** One raw HTTP/1.1 exchange, so that the request line and Host header can be anything; resolves to the status code. */
  function raw(request: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(serve.server.port, '127.0.0.1');
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
      socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
      socket.on('error', reject);
      socket.write(request);
    });
  }

  it('refuses a window longer than MAX_WINDOW_DAYS with 400 naming the setting, and starts nothing', async () => {
    const cases: [string, string][] = [
      ['0000-01-01', '9999-12-31'],
      // One second over the longest window.
      [SAMPLE_WINDOW.from, '2026-11-26T00:00:01Z'],
    ];
    for (const [from, to] of cases) {
      const answer = await call('POST', 'runs', startBody(from, to));
      expect([from, to, answer.status]).toEqual([from, to, 400]);
      expect(answer.json.error).toMatch(/MAX_WINDOW_DAYS/);
      expect(answer.json.setting).toBe('MAX_WINDOW_DAYS');
      const instanceId = instanceIdForWindow({ from: new Date(`${from}${from.length === 10 ? 'T00:00:00Z' : ''}`).toISOString(), to: new Date(to).toISOString() });
      expect(await env.runner.getInstance(instanceId)).toBeUndefined();
    }
    expect((await call('GET', 'runs', { key: KEYS.functionKey })).json.runs).toEqual([]);
  });

  it('refuses a date or time that does not exist with 400, never rolling it over', async () => {
    const impossible = ['2026-02-30', '2026-02-29', '2026-04-31', '2026-13-01', '2026-00-10', '2026-11-25T24:00:00Z', '2026-11-25T23:60:00Z',
      '2026-11-25T10:00:61Z', '2026-11-25T10:00:00+25:00'];
    for (const bad of impossible) {
      for (const [from, to, field] of [[bad, '2026-03-03', 'from'], ['2026-02-27', bad, 'to']]) {
        const answer = await call('POST', 'runs', startBody(from, to));
        expect([bad, field, answer.status]).toEqual([bad, field, 400]);
        expect(answer.json.error).toContain(`"${field}" "${bad}"`);
      }
    }
    expect((await call('GET', 'runs', { key: KEYS.functionKey })).json.runs).toEqual([]);
  });

  it('reads a body with a limit on the Azure path: an endless body is refused with 413 after the limit, never read whole', async () => {
    const context = () => new InvocationContext({ functionName: 'test', logHandler: () => undefined });
    for (const [fn, method, type, limit] of [
      [startRunHttp, 'POST', 'application/json', 64 * 1024],
      [mappingHttp, 'PUT', 'text/csv', 5 * 1024 * 1024],
    ] as const) {
      let pulled = 0;
      const chunk = new Uint8Array(64 * 1024).fill(0x41);
      // 256 MiB if read to the end: a handler that reads first and measures after holds all of it.
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulled >= 256 * 1024 * 1024) return controller.close();
          pulled += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const nativeRequest = new Request(`${serve.url}/api/anything`, { method, headers: { 'content-type': type }, body, duplex: 'half' } as RequestInit);
      const request = new HttpRequest({ nativeRequest, params: {} } as unknown as HttpRequestInit);
      const answer = (await fn(request, context())) as HttpResponseInit;
      expect([method, answer.status]).toEqual([method, 413]);
      expect(pulled).toBeLessThanOrEqual(limit + 4 * chunk.length);
    }
  });

  it('hands out no Durable management URL: they carry the system key that terminates or purges any instance', async () => {
    const SYSTEM_KEY = 'SYSTEMKEY-of-the-durable-extension';
    const base = 'https://app.example/runtime/webhooks/durabletask/instances';
    const started: string[] = [];
    const client: DurableClientLike & { createHttpManagementPayload(id: string): object } = {
      async startNew(_name, options) {
        started.push(options.instanceId);
        return options.instanceId;
      },
      async getStatus() {
        throw new Error('404 Not Found');
      },
      createHttpManagementPayload: (id) => ({
        id,
        statusQueryGetUri: `${base}/${id}?code=${SYSTEM_KEY}`,
        terminatePostUri: `${base}/${id}/terminate?reason={text}&code=${SYSTEM_KEY}`,
        purgeHistoryDeleteUri: `${base}/${id}?code=${SYSTEM_KEY}`,
        sendEventPostUri: `${base}/${id}/raiseEvent/{eventName}?code=${SYSTEM_KEY}`,
      }),
    };
    useAppHost(createAppHost(env.runner.infra, durableRunStarter(client, env.stack.settings)));
    try {
      const request = new HttpRequest({
        method: 'POST', url: `${serve.url}/api/runs`, headers: { 'content-type': 'application/json' },
        body: { string: JSON.stringify({ from: '2026-11-20', to: '2026-11-21' }) },
      });
      const answer = (await startRunHttp(request, new InvocationContext({ functionName: 'startRunHttp', logHandler: () => undefined }))) as HttpResponseInit;
      expect(answer.status).toBe(202);
      expect(started).toHaveLength(1);
      const text = String(answer.body);
      expect(text).not.toContain(SYSTEM_KEY);
      expect(text).not.toMatch(/durabletask|terminate|purge|raiseEvent/i);
      expect(JSON.parse(text).statusQueryGetUri).toMatch(/\/api\/runs\/run-/);
    } finally {
      useAppHost(createAppHost(env.runner.infra, env.runner));
    }
  });

  it('shows phone numbers in full only with the admin key, on every route', async () => {
    const started = await call('POST', 'runs', startBody(SAMPLE_WINDOW.from, SAMPLE_WINDOW.to));
    expect(started.status).toBe(202);
    const { runId, instanceId } = started.json as { runId: string; instanceId: string };
    const { report } = await env.runner.waitForRun({ runId, instanceId, outcome: 'started' });
    // The report in storage holds them in full: it is for admins.
    const numbers = (report as RunReport).unmappedNumbers.map((u) => u.phone);
    expect(numbers.length).toBeGreaterThan(0);

    const masked = [
      await call('GET', 'runs', { key: KEYS.functionKey }),
      await call('GET', `runs/${runId}`, { key: KEYS.functionKey }),
      await call('GET', `runs/${runId}`, { key: KEYS.functionKey, query: '?format=csv' }),
      await call('GET', 'dashboard', { key: KEYS.functionKey }),
      // The admin key on a function-key route gets the masked view too: the route decides, as in Azure.
      await call('GET', `runs/${runId}`, { key: KEYS.adminKey }),
    ];
    for (const answer of masked) {
      expect(answer.status).toBe(200);
      for (const phone of numbers) expect(answer.text).not.toContain(phone);
    }
    expect(masked[1].text).toContain(maskPhone(numbers[0]));
    expect(masked[0].text).toContain(maskPhone(numbers[0]));

    // The old way to unmask is refused, with where to go.
    const unmaskAsked = await call('GET', 'dashboard', { key: KEYS.functionKey, query: '?unmask=1' });
    expect(unmaskAsked.status).toBe(403);
    expect(unmaskAsked.json.error).toMatch(/admin key.*unmasked\/dashboard/);
    for (const route of ['unmasked/runs', `unmasked/runs/${runId}`, 'unmasked/dashboard']) {
      const refused = await call('GET', route, { key: KEYS.functionKey });
      expect([route, refused.status]).toEqual([route, 403]);
      const shown = await call('GET', route, { key: KEYS.adminKey });
      expect([route, shown.status]).toEqual([route, 200]);
      for (const phone of numbers) expect([route, shown.text.includes(phone)]).toEqual([route, true]);
    }
  });

  it('records who replaced the mapping from what the platform vouches for, never from a header the client sends', async () => {
    const claims = Buffer.from(JSON.stringify({ auth_typ: 'aad', claims: [{ typ: 'name', val: 'mallory@evil.example' }] })).toString('base64');
    const answer = await call('PUT', 'mapping', {
      key: KEYS.adminKey, type: 'text/csv', body: 'Phone,Mailbox\n+447700900101,alice.smith@contoso.example\n',
      headers: { 'x-ms-client-principal-name': 'mallory@evil.example', 'x-ms-client-principal': claims, 'x-ms-client-principal-id': 'mallory' },
    });
    expect(answer.status).toBe(200);
    const record = JSON.parse((await env.runner.infra.storage.container('mapping').getBlockBlobClient(answer.json.changeRecord as string).downloadToBuffer()).toString('utf8'));
    expect(record.who).toBe('PUT /api/mapping with the admin key');
    const current = await env.runner.infra.storage.container('mapping').getBlockBlobClient('current.csv').getProperties();
    expect(decodeURIComponent(current.metadata?.replacedby ?? '')).toBe('PUT /api/mapping with the admin key');
  });

  it('local serve: a malformed percent-encoding or Host header is a 400, not a 500', async () => {
    const key = `x-functions-key: ${KEYS.functionKey}\r\n`;
    expect(await raw(`GET /api/runs/%E0%A4%A HTTP/1.1\r\nHost: 127.0.0.1\r\n${key}Connection: close\r\n\r\n`)).toBe(400);
    expect(await raw(`GET /api/runs/run-%ZZ HTTP/1.1\r\nHost: 127.0.0.1\r\n${key}Connection: close\r\n\r\n`)).toBe(400);
    expect(await raw(`GET /api/runs HTTP/1.1\r\nHost: [::1\r\n${key}Connection: close\r\n\r\n`)).toBe(400);
    expect(await raw(`GET /api/runs HTTP/1.1\r\nHost: a b\r\n${key}Connection: close\r\n\r\n`)).toBe(400);
  });

  it('local serve: the key is checked before 404 and 405, so no route can be listed without one', async () => {
    // Without a key nothing tells which routes exist: 401 for a missing route and a wrong method alike.
    expect((await call('GET', 'no-such-route')).status).toBe(401);
    expect((await call('DELETE', 'runs')).status).toBe(401);
    expect((await call('GET', 'no-such-route', { key: 'not-a-key-0000000000000' })).status).toBe(401);
    // With a key, as before.
    expect((await call('GET', 'no-such-route', { key: KEYS.functionKey })).status).toBe(404);
    expect((await call('DELETE', 'runs', { key: KEYS.functionKey })).status).toBe(405);
  });
});
