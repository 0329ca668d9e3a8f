/**
 * The HTTP API's request handling, unaware of the Functions runtime: a
 * request in (anything shaped like @azure/functions' HttpRequest), a host
 * (run starter, stores, clock), and `{ status, headers, body }` out. The
 * functions/ triggers and the local server both call these. Keys are checked
 * before a handler runs (by the Functions host in Azure, by the local server
 * under `o2-archiver serve`).
 */
import { describeError, isArchiverError } from '../model/errors';
import { readBacklog } from '../run/backlog';
import { failuresCsv } from '../run/report';
import { redriveCandidates } from '../run/redrive';
import type { ActivityLog } from '../platform/logging';
import { HttpRoutes } from '../platform/names';
import type { AppHost } from './host';
import { renderDashboard } from './dashboard';
import { loadReport, noteAcceptedRun, recentRuns } from './views';
import { maskPhone } from '../model/phone';
import type { Backlog } from '../run/backlog';
import type { RunReport } from '../run/report';
import type { RunRecord } from '../run/runs';
import type { StartRunRequest, StartedRun } from '../run/runStart';
import { parseInstant, windowTooLong } from '../run/window';

/** The request as the handlers read it (@azure/functions' HttpRequest has this shape). */
export interface ApiRequest {
  method: string;
  url: string;
  headers: { get(name: string): string | null };
  query: URLSearchParams;
  params: Record<string, string>;
  /** The body as a stream (@azure/functions' HttpRequest has it), read with a size limit. */
  body?: ReadableStream<Uint8Array> | null;
  text(): Promise<string>;
}

/** The answer (assignable to @azure/functions' HttpResponseInit). */
export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type ApiHandler = (request: ApiRequest, host: AppHost, log: ActivityLog) => Promise<ApiResponse>;

const MAX_JSON_BODY_BYTES = 64 * 1024;
const MAX_MAPPING_BYTES = 5 * 1024 * 1024;
/** Who replaced the mapping, as recorded for a replacement over HTTP: what the platform vouches for. */
export const MAPPING_REPLACED_OVER_HTTP = 'PUT /api/mapping with the admin key';
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,99}$/;

/** A request the caller must fix: answered with its status and message. */
class BadRequest extends Error {
  constructor(message: string, readonly status = 400, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }
}

/** Runs `handler`, turning a refusal into its status and anything unexpected into a 500 that names no internals. */
export async function handle(handler: ApiHandler, request: ApiRequest, host: AppHost, log: ActivityLog): Promise<ApiResponse> {
  const path = safePath(request.url);
  try {
    const response = await handler(request, host, log);
    log.info(`http ${request.method} ${path}: ${response.status}`);
    return response;
  } catch (e) {
    if (e instanceof BadRequest) {
      log.info(`http ${request.method} ${path}: ${e.status} ${e.message}`);
      return json(e.status, { error: e.message, ...e.extra });
    }
    if (isArchiverError(e, 'BAD_WINDOW')) {
      log.info(`http ${request.method} ${path}: 400 ${e.message}`);
      return json(400, { error: e.message, setting: e.setting });
    }
    if (isArchiverError(e, 'CONFLICT')) {
      log.info(`http ${request.method} ${path}: 409 ${e.message}`);
      return json(409, { error: e.message });
    }
    log.error(`http ${request.method} ${path}: 500 ${describeError(e)}`);
    return json(500, { error: 'the request could not be handled; the function log has the details' });
  }
}

/** POST /api/runs {"from","to"}: starts a run of that window; 202 with where to follow it, 409 while the window runs. */
export const startRun: ApiHandler = async (request, host, log) => {
  const body = await readJsonObject(request);
  const unknown = Object.keys(body).filter((k) => k !== 'from' && k !== 'to');
  if (unknown.length > 0) throw new BadRequest(`unknown field(s) ${unknown.map((k) => `"${k}"`).join(', ')}: the body is {"from": "<ISO 8601>", "to": "<ISO 8601>"}`);
  const from = instant(body.from, 'from');
  const to = instant(body.to, 'to');
  if (Date.parse(from) >= Date.parse(to)) throw new BadRequest(`"from" (${from}) must be before "to" (${to})`);
  const tooLong = windowTooLong({ from, to }, host.settings.MAX_WINDOW_DAYS);
  if (tooLong) throw new BadRequest(tooLong, 400, { setting: 'MAX_WINDOW_DAYS' });
  const started = await start(host, { trigger: 'http', window: { from, to } });
  log.info(`http: run ${started.runId} (${started.outcome}) of ${from} .. ${to} as ${started.instanceId}`);
  return accepted(request, started.runId, started.instanceId, { outcome: started.outcome, window: { from, to } });
};

/**
 * Phone numbers in answers: masked (`+4477******23`) on the routes any
 * function key opens; in full only on the `unmasked/` routes, which the host
 * opens with the admin key alone (authLevel 'admin'). The handler cannot see
 * which key a request carried in Azure, so the route decides.
 */
export type PhoneView = 'masked' | 'full';

/** GET /api/runs[?limit=N] (masked) and GET /api/unmasked/runs (admin key): recent runs with their counts, the re-drive backlog and the watermark. */
export function listRunsHandler(view: PhoneView): ApiHandler {
  return async (request, host) => {
    const limit = intQuery(request, 'limit', 20, 1, 100);
    const [runs, backlog, watermark] = await Promise.all([
      recentRuns(host, limit),
      readBacklog(host.runs, { now: host.now() }),
      host.watermarks.get(),
    ]);
    return json(200, { runs: runs.map((r) => r.summary), backlog: view === 'full' ? backlog : maskBacklog(backlog), watermark: watermark ?? null });
  };
}

/** GET /api/runs[?limit=N]: recent runs, backlog and watermark, numbers masked. */
export const listRuns = listRunsHandler('masked');
/** GET /api/unmasked/runs[?limit=N] (admin key): the same with numbers in full. */
export const listRunsUnmasked = listRunsHandler('full');

/** GET /api/runs/{runId}[?format=csv] (masked) and GET /api/unmasked/runs/{runId} (admin key): the run's report (live while it runs) or its failures CSV; 404 for an unknown run. */
export function getRunHandler(view: PhoneView): ApiHandler {
  return async (request, host) => {
    const runId = runIdParam(request);
    const format = request.query.get('format') ?? 'json';
    if (format !== 'json' && format !== 'csv') throw new BadRequest(`format must be json or csv, not "${format}"`);
    const found = await loadReport(host, runId);
    if (!found) throw new BadRequest(`no run ${runId}`, 404);
    const report = view === 'full' ? found : maskReport(found);
    if (format === 'csv') {
      return { status: 200, headers: { 'content-type': 'text/csv; charset=utf-8', 'cache-control': 'no-store' }, body: failuresCsv(report) };
    }
    return json(200, report);
  };
}

/** GET /api/runs/{runId}: a run's report, numbers masked. */
export const getRun = getRunHandler('masked');
/** GET /api/unmasked/runs/{runId} (admin key): the same with numbers in full. */
export const getRunUnmasked = getRunHandler('full');

/** POST /api/runs/{runId}/redrive: a run that imports that run's unmapped and failed items again; 400 for an unknown run. */
export const redriveRun: ApiHandler = async (request, host, log) => {
  const runId = runIdParam(request);
  const run = await host.runs.getRun(runId);
  if (!run) throw new BadRequest(`no run ${runId}: give the runId of a finished run (GET /api/runs lists them)`);
  if (run.status === 'running') throw new BadRequest(`run ${runId} is still running: re-drive it once it has finished`, 409);
  const [items, units] = await Promise.all([host.runs.listItems(runId), host.runs.listUnits(runId)]);
  const candidates = redriveCandidates(items, units);
  if (candidates.length === 0) throw new BadRequest(`run ${runId} has no unmapped or failed items to re-drive`);
  const started = await start(host, { trigger: 'redrive', window: run.window, redriveOf: runId });
  log.info(`http: re-drive ${started.runId} (${started.outcome}) of run ${runId}: ${candidates.length} item(s)`);
  return accepted(request, started.runId, started.instanceId, { outcome: started.outcome, redriveOf: runId, items: candidates.length });
};

/** PUT /api/mapping (text/csv): validates and replaces the mapping in force; 400 with every problem and its line when it does not load. */
export const putMapping: ApiHandler = async (request, host, log) => {
  const type = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'text/csv' && type !== 'text/plain') {
    throw new BadRequest(`the mapping must be sent as text/csv${type ? `, not ${type}` : ' (no Content-Type was given)'}`, 415);
  }
  const text = await readBody(request, MAX_MAPPING_BYTES, 'the mapping');
  if (text.trim() === '') throw new BadRequest('the body is empty: send the mapping CSV (External User ID,Microsoft 365 User Mailbox)');
  // Only what the platform vouches for: this route opens with the admin key alone. A client-sent
  // identity header (x-ms-client-principal-name) is not trusted: no Easy Auth stands in front of it.
  const who = MAPPING_REPLACED_OVER_HTTP;
  const result = await host.mapping.replace(text, { who });
  const { errors, warnings } = result.validation;
  if (!result.ok) {
    log.info(`http: mapping rejected: ${errors.length} error(s)`);
    throw new BadRequest(`the mapping has ${errors.length} error(s) and was rejected whole; the mapping in force is unchanged`, 400, { errors, warnings });
  }
  const { change } = result;
  // Counts only in the log: the numbers are in the change record, for admins.
  log.info(`http: mapping replaced: ${change.numbers} number(s), ${change.added.length} added, ${change.removed.length} removed, ${change.repointed.length} re-pointed`);
  return json(200, {
    numbers: change.numbers,
    added: change.added.length,
    removed: change.removed.length,
    repointed: change.repointed.length,
    warnings,
    previousVersion: change.previousVersion,
    changeRecord: result.changeRecord,
  });
};

/** GET /api/dashboard (masked) and GET /api/unmasked/dashboard (admin key): the dashboard page. */
export function dashboardHandler(view: PhoneView): ApiHandler {
  return async (request, host) => {
    // The old way to unmask is refused with where to go, rather than quietly answered masked.
    if (view === 'masked' && request.query.get('unmask') !== null) {
      throw new BadRequest(`phone numbers in full need the admin key: open /api/${HttpRoutes.unmaskedDashboard} with it`, 403);
    }
    return dashboardPage(request, host, view === 'full');
  };
}

/** GET /api/dashboard: the dashboard page, numbers masked. */
export const dashboard = dashboardHandler('masked');
/** GET /api/unmasked/dashboard (admin key): the dashboard page with numbers in full. */
export const dashboardUnmasked = dashboardHandler('full');

/** The dashboard page over recent runs, the backlog and the watermark. */
async function dashboardPage(request: ApiRequest, host: AppHost, unmask: boolean): Promise<ApiResponse> {
  const [runs, backlog, watermark] = await Promise.all([
    recentRuns(host, intQuery(request, 'limit', 30, 1, 100)),
    readBacklog(host.runs, { now: host.now() }),
    host.watermarks.get(),
  ]);
  const html = renderDashboard({ runs, backlog, watermark, now: host.now(), unmask });
  return {
    status: 200,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // Self-contained: no script, no outside asset; inline styles and SVG only.
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'",
      'x-content-type-options': 'nosniff',
    },
    body: html,
  };
}

/** Starts the run and notes it, so that its status URL answers before the orchestration has begun it. */
async function start(host: AppHost, request: StartRunRequest): Promise<StartedRun> {
  const started = await host.starter.startRun(request);
  if (started.outcome !== 'resumed') {
    const now = host.now().toISOString();
    const record: RunRecord = {
      runId: started.runId, instanceId: started.instanceId, trigger: request.trigger, window: request.window,
      readFrom: request.readFrom ?? request.window.from, startedAt: now, finishedAt: null, status: 'running',
      ...(request.redriveOf ? { redriveOf: request.redriveOf } : {}),
    };
    await noteAcceptedRun(host.runs, record);
  }
  return started;
}

function accepted(request: ApiRequest, runId: string, instanceId: string, extra: Record<string, unknown>): ApiResponse {
  const base = apiBase(request.url);
  const statusQueryGetUri = `${base}/${HttpRoutes.run.replace('{runId}', () => encodeURIComponent(runId))}`;
  const body = {
    runId,
    instanceId,
    ...extra,
    statusQueryGetUri,
    failuresCsvGetUri: `${statusQueryGetUri}?format=csv`,
    redrivePostUri: `${base}/${HttpRoutes.redrive.replace('{runId}', () => encodeURIComponent(runId))}`,
    dashboardUri: `${base}/${HttpRoutes.dashboard}`,
    // Never Durable's management URLs: they carry the extension's system key, which terminates or purges any instance.
  };
  return { status: 202, headers: { ...jsonHeaders(), location: statusQueryGetUri, 'retry-after': '10' }, body: JSON.stringify(body, null, 2) };
}

function json(status: number, value: unknown): ApiResponse {
  return { status, headers: jsonHeaders(), body: JSON.stringify(value, null, 2) };
}

function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
}

/**
 * The body as text, read with a limit: a Content-Length over it is refused
 * before anything is read, and a stream is read only until it passes the
 * limit (413), so an endless or huge body never sits in memory.
 */
async function readBody(request: ApiRequest, limit: number, what: string): Promise<string> {
  const tooLarge = () => new BadRequest(`${what} is larger than ${limit} bytes`, 413);
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  if (request.body === undefined) {
    // A request without a stream (a test double): its text, still held to the limit.
    const text = await request.text();
    if (Buffer.byteLength(text, 'utf8') > limit) throw tooLarge();
    return text;
  }
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJsonObject(request: ApiRequest): Promise<Record<string, unknown>> {
  const text = await readBody(request, MAX_JSON_BODY_BYTES, 'the body');
  if (text.trim() === '') throw new BadRequest('the body is empty: send {"from": "<ISO 8601>", "to": "<ISO 8601>"}');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BadRequest(`the body is not JSON (${describeError(e)}): send {"from": "<ISO 8601>", "to": "<ISO 8601>"}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new BadRequest('the body must be a JSON object {"from": "<ISO 8601>", "to": "<ISO 8601>"}');
  return value as Record<string, unknown>;
}

function instant(value: unknown, name: string): string {
  if (value === undefined || value === null || value === '') throw new BadRequest(`"${name}" is missing: give an ISO 8601 instant such as 2026-11-25T00:00:00Z`);
  const parsed = parseInstant(typeof value === 'string' ? value : '');
  if (!parsed.ok) throw new BadRequest(`"${name}" ${JSON.stringify(value).slice(0, 100)} ${parsed.reason}`);
  return parsed.iso;
}

function runIdParam(request: ApiRequest): string {
  const runId = request.params.runId ?? '';
  if (!RUN_ID.test(runId)) throw new BadRequest(`"${runId.slice(0, 100)}" is not a run id (run-<time>-<hex>, as GET /api/runs lists them)`);
  return runId;
}

function intQuery(request: ApiRequest, name: string, fallback: number, min: number, max: number): number {
  const raw = request.query.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new BadRequest(`${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  return n;
}

/** `https://host/api` of the request, so that answers link back to the same app. */
function apiBase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}/api`;
  } catch {
    return '/api';
  }
}

/** The path without the query string: `?code=` carries a key and never reaches a log. */
function safePath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0];
  }
}

/** A report with its unmapped numbers masked (failure details never hold a full number). */
export function maskReport(report: RunReport): RunReport {
  return { ...report, unmappedNumbers: report.unmappedNumbers.map((u) => ({ ...u, phone: maskPhone(u.phone) })) };
}

/** The backlog with its entries' unmapped numbers masked. */
export function maskBacklog(backlog: Backlog): Backlog {
  return {
    ...backlog,
    entries: backlog.entries.map((e) => (e.unmappedNumbers ? { ...e, unmappedNumbers: e.unmappedNumbers.map(maskPhone) } : e)),
  };
}
