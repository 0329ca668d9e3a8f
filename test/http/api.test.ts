/**
 * The HTTP API as `o2-archiver serve` answers it, over the registered
 * function handlers: every route refuses a request without a valid key, a
 * bad body gets 400 with a message saying what is wrong, a run starts with
 * 202 and status URLs, a second start of the running window is refused with
 * 409, and the report, the run list and a re-drive follow.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startServe, type ServeHandle } from '../../local/cli/commands/serve';
import { maskReport } from '../../shared/http/handlers';
import type { RunReport } from '../../shared/run/report';
import { PROJECT_ROOT, SAMPLE_WINDOW, startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(240_000);

const KEYS = { functionKey: 'test-function-key-0123456789', adminKey: 'test-admin-key-0123456789abc' };

describe('HTTP API under o2-archiver serve', () => {
  let env: TestStack;
  let serve: ServeHandle;

  beforeAll(async () => {
    env = await startTestStack({ sample: { generatedItems: 8, bigItems: false } });
    serve = await startServe({ settings: env.stack.settings, runner: env.runner, keys: KEYS, port: 0 });
  });

  afterAll(async () => {
    await serve?.stop();
    await env?.stack.stop();
  });

  async function call(method: string, route: string, options: { key?: string; body?: string; type?: string; query?: string } = {}) {
    const headers: Record<string, string> = {};
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
    return { status: response.status, headers: response.headers, text, json };
  }

  it('registers every route with a key level, never anonymous, and the mapping under the admin key', () => {
    const routes = serve.server.routes.map((r) => `${r.methods.join(',')} ${r.path} ${r.authLevel}`).sort();
    expect(routes).toEqual([
      'GET /api/dashboard function',
      'GET /api/runs function',
      'GET /api/runs/{runId} function',
      'GET /api/unmasked/dashboard admin',
      'GET /api/unmasked/runs admin',
      'GET /api/unmasked/runs/{runId} admin',
      'POST /api/runs function',
      'POST /api/runs/{runId}/redrive function',
      'PUT /api/mapping admin',
    ]);
  });

  it('refuses every route without a valid key, and the mapping with a function key', async () => {
    const requests: [string, string][] = [
      ['POST', 'runs'], ['GET', 'runs'], ['GET', 'runs/run-x'], ['POST', 'runs/run-x/redrive'], ['PUT', 'mapping'], ['GET', 'dashboard'],
      ['GET', 'unmasked/runs'], ['GET', 'unmasked/runs/run-x'], ['GET', 'unmasked/dashboard'],
    ];
    for (const [method, route] of requests) {
      const none = await call(method, route);
      expect([method, route, none.status]).toEqual([method, route, 401]);
      expect(none.json.error).toMatch(/key/);
      const wrong = await call(method, route, { key: 'not-the-key-at-all-0000000' });
      expect([method, route, wrong.status]).toEqual([method, route, 401]);
      const wrongCode = await call(method, route, { query: '?code=not-the-key' });
      expect(wrongCode.status).toBe(401);
    }
    const functionKeyOnMapping = await call('PUT', 'mapping', { key: KEYS.functionKey, type: 'text/csv', body: 'a,b\n' });
    expect(functionKeyOnMapping.status).toBe(403);
    expect(functionKeyOnMapping.json.error).toMatch(/admin key/);
    // The key may come as ?code=, as in Azure.
    expect((await call('GET', 'runs', { query: `?code=${KEYS.functionKey}` })).status).toBe(200);
  });

  it('answers a bad run request with 400 and says what is wrong', async () => {
    const post = (body: string) => call('POST', 'runs', { key: KEYS.functionKey, type: 'application/json', body });
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['{"from": ', /not JSON/],
      ['[1,2]', /JSON object/],
      [JSON.stringify({ from: '2026-11-26T00:00:00Z', to: '2026-11-25T00:00:00Z' }), /"from" .* must be before "to"/],
      [JSON.stringify({ from: '2026-11-25T00:00:00Z', to: '2026-11-25T00:00:00Z' }), /must be before/],
      [JSON.stringify({ from: 'yesterday', to: '2026-11-25T00:00:00Z' }), /"from" "yesterday" is not an ISO 8601 instant/],
      [JSON.stringify({ from: '2026-11-25T00:00:00Z' }), /"to" is missing/],
      [JSON.stringify({ form: '2026-11-25T00:00:00Z', to: '2026-11-26T00:00:00Z' }), /unknown field.*"form"/],
    ];
    for (const [body, message] of cases) {
      const answer = await post(body);
      expect([body, answer.status]).toEqual([body, 400]);
      expect(answer.json.error).toMatch(message);
    }
    const unknownRun = await call('POST', 'runs/run-20260101T000000Z-abcdef/redrive', { key: KEYS.functionKey });
    expect(unknownRun.status).toBe(400);
    expect(unknownRun.json.error).toMatch(/no run run-20260101T000000Z-abcdef/);
    const badId = await call('GET', 'runs/bad%20id', { key: KEYS.functionKey });
    expect(badId.status).toBe(400);
    expect(badId.json.error).toMatch(/not a run id/);
    // GET of a well-formed id that names no run is 404 (the resource is missing, the request is fine).
    expect((await call('GET', 'runs/run-20260101T000000Z-abcdef', { key: KEYS.functionKey })).status).toBe(404);
    expect((await call('GET', 'runs', { key: KEYS.functionKey, query: '?limit=0' })).status).toBe(400);
  });

  it('answers a bad mapping with 400, every problem with its line, and keeps the mapping in force', async () => {
    const before = await env.runner.infra.storage.container('mapping').getBlockBlobClient('current.csv').downloadToBuffer();
    const bad = readFileSync(path.join(PROJECT_ROOT, 'fixtures/mapping/with-errors.csv'), 'utf8');
    const answer = await call('PUT', 'mapping', { key: KEYS.adminKey, type: 'text/csv', body: bad });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(/error\(s\) and was rejected whole/);
    const errors = answer.json.errors as { line: number; message: string }[];
    expect(errors.length).toBeGreaterThan(1);
    for (const e of errors) {
      expect(e.line).toBeGreaterThan(0);
      expect(e.message.length).toBeGreaterThan(0);
    }
    expect((await call('PUT', 'mapping', { key: KEYS.adminKey, type: 'text/csv', body: '' })).status).toBe(400);
    expect((await call('PUT', 'mapping', { key: KEYS.adminKey, type: 'application/json', body: '{}' })).status).toBe(415);
    const after = await env.runner.infra.storage.container('mapping').getBlockBlobClient('current.csv').downloadToBuffer();
    expect(after.equals(before)).toBe(true);
    const good = readFileSync(path.join(PROJECT_ROOT, 'fixtures/mapping/telemessage-format.csv'), 'utf8');
    const replaced = await call('PUT', 'mapping', { key: KEYS.adminKey, type: 'text/csv; charset=utf-8', body: good });
    expect(replaced.status).toBe(200);
    expect(replaced.json.numbers).toBeGreaterThan(0);
  });

  it('starts a run with 202 and status URLs, refuses the running window with 409, and reports it', async () => {
    const body = JSON.stringify({ from: SAMPLE_WINDOW.from, to: SAMPLE_WINDOW.to });
    const started = await call('POST', 'runs', { key: KEYS.functionKey, type: 'application/json', body });
    expect(started.status).toBe(202);
    const { runId, instanceId, statusQueryGetUri } = started.json as { runId: string; instanceId: string; statusQueryGetUri: string };
    expect(runId).toMatch(/^run-/);
    expect(statusQueryGetUri).toBe(`${serve.url}/api/runs/${runId}`);
    expect(started.headers.get('location')).toBe(statusQueryGetUri);

    const again = await call('POST', 'runs', { key: KEYS.functionKey, type: 'application/json', body });
    expect(again.status).toBe(409);
    expect(again.json.error).toMatch(/already running/);

    // Live while it runs, final after: the same URL.
    const live = await call('GET', `runs/${runId}`, { key: KEYS.functionKey });
    expect(live.status).toBe(200);
    expect(live.json.runId).toBe(runId);
    const { report } = await env.runner.waitForRun({ runId, instanceId, outcome: 'started' });
    const final = await call('GET', `runs/${runId}`, { key: KEYS.functionKey });
    // Any function key sees the unmapped numbers masked; the admin key sees them in full on the unmasked/ route.
    expect(final.json).toEqual(JSON.parse(JSON.stringify(maskReport(report!))));
    expect((await call('GET', `unmasked/runs/${runId}`, { key: KEYS.adminKey })).json).toEqual(JSON.parse(JSON.stringify(report)));
    expect((final.json as unknown as RunReport).status).toBe('completed');
    const csv = await call('GET', `runs/${runId}`, { key: KEYS.functionKey, query: '?format=csv' });
    expect(csv.text.split('\r\n')[0]).toBe('itemId,type,mailbox,reason,detail');

    const list = await call('GET', 'runs', { key: KEYS.functionKey });
    expect(list.status).toBe(200);
    const runs = list.json.runs as { runId: string; counts: RunReport['counts'] }[];
    expect(runs.find((r) => r.runId === runId)?.counts).toEqual(report!.counts);
    const backlog = list.json.backlog as { total: number; unmapped: number };
    expect(backlog.unmapped).toBe(report!.counts.unmapped);

    // A finished window may be run again: nothing is imported twice.
    const rerun = await call('POST', 'runs', { key: KEYS.functionKey, type: 'application/json', body });
    expect(rerun.status).toBe(202);
    const second = await env.runner.waitForRun({ runId: rerun.json.runId as string, instanceId, outcome: 'restarted' });
    expect(second.report!.counts.imported).toBe(0);
    expect(second.report!.counts.duplicates).toBe(report!.counts.importUnits);

    // Re-drive of the first run: its unmapped items again (still unmapped: the mapping did not change).
    const redrive = await call('POST', `runs/${runId}/redrive`, { key: KEYS.functionKey });
    expect(redrive.status).toBe(202);
    expect(redrive.json.redriveOf).toBe(runId);
    const redriven = await env.runner.waitForRun({ runId: redrive.json.runId as string, instanceId: redrive.json.instanceId as string, outcome: 'started' });
    expect(redriven.report!.counts.sourceItems).toBe(report!.counts.unmapped);
    expect(redriven.report!.counts.unmapped).toBe(report!.counts.unmapped);
  });
});
