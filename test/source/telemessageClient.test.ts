import { createHash } from 'node:crypto';
import { isArchiverError } from '../../shared/model/errors';
import type { ArchiveSource } from '../../shared/model/stages';
import { createTeleMessageSource, teleMessageSourceFromSettings, type TeleMessageSourceOptions } from '../../shared/stages/source';
import { readSettings } from '../../shared/platform/config';
import { startTeleMessageEmulator, type TeleMessageEmulator, type TeleMessageEmulatorOptions } from '../../local/emulators/telemessage';
import { fixtureItem, quickRetry, readAll } from './helpers';

const window = { from: '2026-11-25T00:00:00Z', to: '2026-11-26T00:00:00Z' };
const fixtures = [
  'sms-outbound-internal', 'sms-inbound-external-emoji', 'sms-alphanumeric-sender', 'sms-group-five',
  'mms-photo', 'voice-answered-recorded', 'voice-missed', 'sms-unmapped',
].map(fixtureItem);

let emulator: TeleMessageEmulator;

async function startWith(options: TeleMessageEmulatorOptions = {}): Promise<TeleMessageEmulator> {
  emulator = await startTeleMessageEmulator({ items: fixtures, ...options });
  return emulator;
}

function sourceFor(em: TeleMessageEmulator, overrides: Partial<TeleMessageSourceOptions> = {}): ArchiveSource {
  return createTeleMessageSource({
    baseUrl: em.url, username: em.username, password: em.password, pageSize: 3,
    retry: quickRetry, timeScale: 0.01, requestTimeoutInMs: 5_000, ...overrides,
  });
}

async function listAll(source: ArchiveSource, onPage?: (n: number) => void): Promise<unknown[]> {
  const records: unknown[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await source.listPage(window, cursor);
    records.push(...page.records);
    cursor = page.nextCursor;
    onPage?.(++pages);
  } while (cursor !== null);
  return records;
}

const idsOf = (records: unknown[]) => records.map((r) => (r as { id: string }).id);

afterEach(async () => {
  await emulator?.stop();
});

describe('TeleMessage source against the emulator', () => {
  it('pages through a window in timestamp order, without inline bytes', async () => {
    const source = sourceFor(await startWith());
    const records = await listAll(source);
    expect(idsOf(records)).toEqual([
      'tm-sms-0001', 'tm-sms-0002', 'tm-sms-0003', 'tm-sms-0004', 'tm-mms-0001', 'tm-call-0001', 'tm-call-0002', 'tm-sms-0005',
    ]);
    expect(JSON.stringify(records)).not.toContain('dataBase64');
  });

  it('logs in again once when the token expires mid-run', async () => {
    const em = await startWith();
    const source = sourceFor(em);
    const records = await listAll(source, (page) => {
      if (page === 1) em.expireTokens();
    });
    expect(records).toHaveLength(8);
    expect(em.stats.logins).toBe(2);
    expect(em.stats.unauthorised).toBe(1);
  });

  it('retries a page that fails, then succeeds', async () => {
    const em = await startWith();
    const source = sourceFor(em);
    await source.checkLogin();
    em.failNext(1, 'unavailable', 'list');
    em.failNext(1, 'throttle', 'list');
    em.failNext(1, 'reset', 'list');
    const page = await source.listPage(window, null);
    expect(idsOf(page.records)).toEqual(['tm-sms-0001', 'tm-sms-0002', 'tm-sms-0003']);
    expect(em.stats.faults).toMatchObject({ unavailable: 1, throttle: 1, reset: 1 });
    expect(em.stats.listings).toBe(1);
  });

  it('gives up on a source that never answers, with SOURCE_UNAVAILABLE and a reason', async () => {
    const em = await startWith();
    const source = sourceFor(em, { requestTimeoutInMs: 100 });
    await source.checkLogin();
    em.setNeverAnswer(true);
    const error = await source.listPage(window, null).catch((e: unknown) => e);
    expect(isArchiverError(error, 'SOURCE_UNAVAILABLE')).toBe(true);
    expect(error).toMatchObject({ retryable: true, message: expect.stringMatching(/archive\/items.*timed out/) });
    expect(em.stats.faults.hang).toBeGreaterThanOrEqual(1);
  });

  it('gives up when every attempt is a 503, naming what failed', async () => {
    const em = await startWith();
    const source = sourceFor(em);
    await source.checkLogin();
    em.failNext(100, 'unavailable', 'list');
    const error = await source.listPage(window, null).catch((e: unknown) => e);
    expect(isArchiverError(error, 'SOURCE_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toMatch(/after 4 attempts.*503/);
  });

  it('refuses a wrong password at once, naming the setting', async () => {
    const em = await startWith();
    const source = sourceFor(em, { password: 'wrong' });
    const error = await source.listPage(window, null).catch((e: unknown) => e);
    expect(isArchiverError(error, 'SOURCE_AUTH_FAILED')).toBe(true);
    expect(error).toMatchObject({ setting: 'TELEMESSAGE_PASSWORD', retryable: false });
    expect((error as Error).message).toContain('TELEMESSAGE_PASSWORD');
    expect(em.stats.refusedLogins).toBe(1); // not retried
    await expect(source.checkLogin()).rejects.toMatchObject({ code: 'SOURCE_AUTH_FAILED' });
  });

  it('returns an item twice when the archive repeats it across pages (dedupe is the caller\'s)', async () => {
    const source = sourceFor(await startWith({ duplicateAcrossPages: true }));
    const ids = idsOf(await listAll(source));
    expect(new Set(ids).size).toBe(8);
    expect(ids.length).toBeGreaterThan(8);
  });

  it('streams media with its content type and length, and reports missing media', async () => {
    const source = sourceFor(await startWith());
    const download = await source.openMedia('tm-mms-0001', 'm1');
    const bytes = await readAll(download.stream);
    expect(download).toMatchObject({ contentType: 'image/png', contentLength: 73 });
    expect(createHash('sha256').update(bytes).digest('hex')).toBe('97a3a410c9bca540512251c37ce63982edccbed54c6f2e1d06ec717b9f753e29');
    await expect(source.openMedia('tm-mms-0001', 'nope')).rejects.toMatchObject({ code: 'MEDIA_MISSING' });
  });
});

describe('TeleMessage source against answers the emulator never gives', () => {
  const loginAnswer = () => new Response(JSON.stringify({ access_token: 't', token_type: 'Bearer', expires_in: 3600 }), { status: 200 });

  function fakeSource(listAnswer: () => Response, calls: { list: number }): ArchiveSource {
    const fakeFetch = (async (input: string | URL | Request) => {
      if (String(input).includes('/auth/token')) return loginAnswer();
      calls.list++;
      return listAnswer();
    }) as typeof fetch;
    return createTeleMessageSource({
      baseUrl: 'http://archive.invalid/tm', username: 'u', password: 'p', pageSize: 10, retry: quickRetry, timeScale: 0.01, fetch: fakeFetch,
    });
  }

  it('does not retry a 400', async () => {
    const calls = { list: 0 };
    const source = fakeSource(() => new Response('{"error":"bad"}', { status: 400 }), calls);
    await expect(source.listPage(window, null)).rejects.toMatchObject({ code: 'SOURCE_BAD_REQUEST', statusCode: 400 });
    expect(calls.list).toBe(1);
  });

  it('reports malformed JSON as SOURCE_BAD_RESPONSE', async () => {
    const calls = { list: 0 };
    const source = fakeSource(() => new Response('{"items": [', { status: 200 }), calls);
    await expect(source.listPage(window, null)).rejects.toMatchObject({ code: 'SOURCE_BAD_RESPONSE' });
    const shapeless = fakeSource(() => new Response('{"records": []}', { status: 200 }), calls);
    await expect(shapeless.listPage(window, null)).rejects.toMatchObject({ code: 'SOURCE_BAD_RESPONSE' });
  });

  it('keeps the base URL path and sends the window and page size', async () => {
    let seen = '';
    const fakeFetch = (async (input: string | URL | Request) => {
      if (String(input).includes('/auth/token')) return loginAnswer();
      seen = String(input);
      return new Response('{"items": [], "nextCursor": null}', { status: 200 });
    }) as typeof fetch;
    const source = createTeleMessageSource({ baseUrl: 'http://archive.invalid/tm', username: 'u', password: 'p', pageSize: 10, fetch: fakeFetch });
    await source.listPage(window, 'abc');
    const url = new URL(seen);
    expect(url.pathname).toBe('/tm/api/v1/archive/items');
    expect(Object.fromEntries(url.searchParams)).toEqual({ from: window.from, to: window.to, pageSize: '10', cursor: 'abc' });
  });
});

describe('teleMessageSourceFromSettings', () => {
  it('names the first missing setting', () => {
    expect(() => teleMessageSourceFromSettings(readSettings({}))).toThrow(expect.objectContaining({ code: 'SETTING_MISSING', setting: 'TELEMESSAGE_BASE_URL' }));
    const settings = readSettings({ TELEMESSAGE_BASE_URL: 'http://127.0.0.1:1', TELEMESSAGE_USERNAME: 'u' });
    expect(() => teleMessageSourceFromSettings(settings)).toThrow(expect.objectContaining({ setting: 'TELEMESSAGE_PASSWORD' }));
  });
});
