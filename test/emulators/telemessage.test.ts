import { createHash } from 'node:crypto';
import { itemSizeInBytes } from '../../shared/model/item';
import { toE164 } from '../../shared/model/phone';
import { validateRecord } from '../../shared/stages/source';
import { seededMedia, startTeleMessageEmulator, type TeleMessageEmulator, type TeleMessageEmulatorOptions } from '../../local/emulators/telemessage';
import { sampleDay, sampleTenant } from '../../local/sample';
import { fixtureItem, readAll } from '../source/helpers';

const TEN_MIB = 10 * 1024 * 1024;
let emulator: TeleMessageEmulator | undefined;

afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

async function start(options: TeleMessageEmulatorOptions): Promise<TeleMessageEmulator> {
  emulator = await startTeleMessageEmulator(options);
  return emulator;
}

async function token(em: TeleMessageEmulator): Promise<string> {
  const res = await fetch(`${em.url}/api/v1/auth/token`, {
    method: 'POST', body: JSON.stringify({ username: em.username, password: em.password }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function get(em: TeleMessageEmulator, path: string, bearer: string): Promise<Response> {
  return fetch(`${em.url}${path}`, { headers: { authorization: `Bearer ${bearer}` } });
}

function itemsPath(from: string, to: string, pageSize: number, cursor?: string): string {
  const q = new URLSearchParams({ from, to, pageSize: String(pageSize) });
  if (cursor) q.set('cursor', cursor);
  return `/api/v1/archive/items?${q}`;
}

const record = (id: string, timestamp: string) => ({ ...fixtureItem('sms-outbound-internal'), id, timestamp });

async function listIds(em: TeleMessageEmulator, bearer: string, from: string, to: string, pageSize: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const res = await get(em, itemsPath(from, to, pageSize, cursor), bearer);
    const body = (await res.json()) as { items: Array<{ id: string }>; nextCursor: string | null };
    ids.push(...body.items.map((i) => i.id));
    if (body.nextCursor === null) return ids;
    cursor = body.nextCursor;
  }
  throw new Error('paging never ended');
}

describe('TeleMessage emulator', () => {
  it('refuses a wrong password and calls without a valid token', async () => {
    const em = await start({ items: [] });
    const refused = await fetch(`${em.url}/api/v1/auth/token`, { method: 'POST', body: JSON.stringify({ username: em.username, password: 'x' }) });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'invalid_credentials' });
    expect((await get(em, itemsPath('2026-11-25T00:00:00Z', '2026-11-26T00:00:00Z', 10), 'made-up')).status).toBe(401);
  });

  it('expires tokens after their lifetime, and on demand', async () => {
    const em = await start({ items: [], tokenTtlSeconds: 0.05 });
    const short = await token(em);
    await new Promise((r) => setTimeout(r, 100));
    expect((await get(em, itemsPath('2026-11-25T00:00:00Z', '2026-11-26T00:00:00Z', 10), short)).status).toBe(401);
    await em.stop();
    const em2 = await start({ items: [] });
    const bearer = await token(em2);
    expect((await get(em2, itemsPath('2026-11-25T00:00:00Z', '2026-11-26T00:00:00Z', 10), bearer)).status).toBe(200);
    em2.expireTokens();
    expect((await get(em2, itemsPath('2026-11-25T00:00:00Z', '2026-11-26T00:00:00Z', 10), bearer)).status).toBe(401);
  });

  it('orders by timestamp then id, in a half-open window, across pages', async () => {
    const em = await start({
      items: [
        record('b', '2026-11-25T10:00:00Z'),
        record('a', '2026-11-25T10:00:00.000Z'),
        record('late', '2026-11-26T00:00:00Z'),
        record('first', '2026-11-25T00:00:00Z'),
        record('offset', '2026-11-25T10:30:00+01:00'), // 09:30Z
        record('before', '2026-11-24T23:59:59.999Z'),
      ],
    });
    const bearer = await token(em);
    expect(await listIds(em, bearer, '2026-11-25T00:00:00Z', '2026-11-26T00:00:00Z', 2)).toEqual(['first', 'offset', 'a', 'b']);
  });

  it('repeats the last item of a page at the top of the next, when asked, and still ends', async () => {
    const items = Array.from({ length: 7 }, (_, i) => record(`i${i}`, `2026-11-25T0${i}:00:00Z`));
    const em = await start({ items, duplicateAcrossPages: true });
    const ids = await listIds(em, await token(em), '2026-11-25T00:00:00Z', '2026-11-26T00:00:00Z', 3);
    expect(ids).toEqual(['i0', 'i1', 'i2', 'i2', 'i3', 'i4', 'i4', 'i5', 'i6']);
  });

  it('answers 400 to a page size out of range and to a foreign cursor', async () => {
    const em = await start({ items: [record('x', '2026-11-25T01:00:00Z'), record('y', '2026-11-25T02:00:00Z')] });
    const bearer = await token(em);
    for (const size of [0, 1001]) {
      expect((await get(em, itemsPath('2026-11-25T00:00:00Z', '2026-11-26T00:00:00Z', size), bearer)).status).toBe(400);
    }
    const first = (await (await get(em, itemsPath('2026-11-25T00:00:00Z', '2026-11-26T00:00:00Z', 1), bearer)).json()) as { nextCursor: string };
    expect(first.nextCursor).toEqual(expect.any(String));
    expect((await get(em, itemsPath('2026-11-25T00:00:00Z', '2026-11-25T12:00:00Z', 1, first.nextCursor), bearer)).status).toBe(400);
    expect((await get(em, itemsPath('2026-11-25T00:00:00Z', '2026-11-26T00:00:00Z', 1, 'garbage'), bearer)).status).toBe(400);
  });

  it('never lists inline bytes, and serves them from the media endpoint', async () => {
    const em = await start({ items: [fixtureItem('mms-photo')] });
    const bearer = await token(em);
    const listing = await (await get(em, itemsPath('2026-11-25T00:00:00Z', '2026-11-26T00:00:00Z', 10), bearer)).text();
    expect(listing).not.toContain('dataBase64');
    const media = await get(em, '/api/v1/archive/items/tm-mms-0001/media/m2', bearer);
    expect(media.headers.get('content-type')).toBe('text/vcard');
    expect(media.headers.get('content-length')).toBe('72');
    const bytes = Buffer.from(await media.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe('f8e2c5e73a3fc36a21652e63e3a4cb1020eab95a53ab06b05e5a8f5bd4492713');
    expect((await get(em, '/api/v1/archive/items/tm-mms-0001/media/m9', bearer)).status).toBe(404);
  });

  it('serves the same seeded faults for the same seed', async () => {
    const outcomes = async () => {
      const em = await start({ items: [], faultRate: 0.5, seed: 'fault-test', slowAnswerMs: 1 });
      const seen: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${em.url}/api/v1/auth/token`, {
          method: 'POST', body: JSON.stringify({ username: em.username, password: em.password }),
        }).catch(() => null);
        seen.push(res ? String(res.status) + (res.status === 429 ? `:${res.headers.get('retry-after')}` : '') : 'reset');
      }
      await em.stop();
      emulator = undefined;
      return seen;
    };
    const first = await outcomes();
    expect(await outcomes()).toEqual(first);
    expect(first).toEqual(expect.arrayContaining(['200', '503', '429:1', 'reset']));
  });

  it('streams a large seeded file with its length and checksum', async () => {
    const body = seededMedia({ itemId: 'big', mediaId: 'v1', contentType: 'video/mp4', size: TEN_MIB + 1, seed: 'emulator-test' });
    expect(seededMedia({ itemId: 'big', mediaId: 'v1', contentType: 'video/mp4', size: TEN_MIB + 1, seed: 'emulator-test' }).sha256).toBe(body.sha256);
    const em = await start({ items: [], media: [body] });
    const res = await get(em, '/api/v1/archive/items/big/media/v1', await token(em));
    expect(res.headers.get('content-length')).toBe(String(TEN_MIB + 1));
    const bytes = await readAll(res.body as unknown as NodeJS.ReadableStream);
    expect(bytes.length).toBe(TEN_MIB + 1);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(body.sha256);
  });
});

describe('sample day and tenant', () => {
  const day = sampleDay({ seed: 'test-seed' });

  it('is the same from the same seed, and different from another', () => {
    expect(JSON.stringify(sampleDay({ seed: 'test-seed', bigItems: false }).records)).toBe(
      JSON.stringify(sampleDay({ seed: 'test-seed', bigItems: false }).records),
    );
    expect(JSON.stringify(sampleDay({ seed: 'other', bigItems: false }).records)).not.toBe(
      JSON.stringify(sampleDay({ seed: 'test-seed', bigItems: false }).records),
    );
  });

  it('holds the fixtures and a few hundred valid generated items of every type, inside the day', () => {
    const results = day.records.map(validateRecord);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const ids = day.records.map((r) => (r as { id: string }).id);
    expect(ids).toEqual(expect.arrayContaining(['tm-sms-0001', 'tm-mms-0001', 'tm-call-0001', 'tm-call-0002']));
    expect(new Set(ids).size).toBe(ids.length);
    expect(day.records.length).toBeGreaterThan(300);
    for (const type of ['sms', 'mms', 'voice'] as const) expect(day.expected.byType[type]).toBeGreaterThan(20);
    for (const r of results) {
      if (!r.ok) continue;
      expect(r.item.timestamp >= day.window.from && r.item.timestamp < day.window.to).toBe(true);
    }
    const statuses = new Set(results.flatMap((r) => (r.ok && r.item.call ? [r.item.call.status] : [])));
    expect([...statuses].sort()).toEqual(['answered', 'missed', 'rejected', 'voicemail']);
  });

  it('writes numbers in many forms, with sender ids, short codes and numbers nobody owns', () => {
    const phones = day.records.flatMap((r) => {
      const item = r as { from: { phone: string }; to: Array<{ phone: string }> };
      return [item.from.phone, ...item.to.map((p) => p.phone)];
    });
    expect(phones).toEqual(expect.arrayContaining(['O2']));
    expect(phones.some((p) => /^07700 ?9/.test(p))).toBe(true);
    expect(phones.some((p) => /^447700/.test(p))).toBe(true);
    expect(phones.some((p) => p.startsWith('+44 (0)7'))).toBe(true);
    expect(phones.some((p) => /^\d{4,5}$/.test(p))).toBe(true);
    const tenantNumbers = new Set(sampleTenant().map((u) => u.phone));
    expect(phones.some((p) => toE164(p) !== null && !tenantNumbers.has(toE164(p) as string))).toBe(true);
    expect(day.expected.unmapped.length).toBeGreaterThan(0);
  });

  it('has three items around the size limit by the contract\'s rule, with media served by the emulator', async () => {
    const { bigItems } = day.expected;
    if (!bigItems) throw new Error('the sample day must hold the big items');
    const sizeOf = (id: string) => {
      const r = validateRecord(day.records.find((x) => (x as { id: string }).id === id));
      if (!r.ok) throw new Error(r.detail);
      return itemSizeInBytes(r.item);
    };
    expect([sizeOf(bigItems.underLimitId), sizeOf(bigItems.atLimitId), sizeOf(bigItems.overLimitId)]).toEqual([TEN_MIB - 1, TEN_MIB, TEN_MIB + 1]);
    expect(day.expected.tooLarge).toEqual([bigItems.overLimitId]);
    const em = await start({ items: day.records, media: day.media });
    const res = await get(em, `/api/v1/archive/items/${bigItems.atLimitId}/media/v1`, await token(em));
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });

  it('adds invalid records only when asked', () => {
    const withBad = sampleDay({ seed: 'test-seed', bigItems: false, invalidRecords: 5 });
    const invalid = withBad.records.map(validateRecord).filter((r) => !r.ok);
    expect(invalid).toHaveLength(5);
    expect(invalid).toEqual(expect.arrayContaining([expect.objectContaining({ itemId: null })]));
    expect(withBad.expected.invalid).toBe(5);
  });

  it('has the fixture users, generated users on 02xx numbers and one user known only by an alias', () => {
    const users = sampleTenant();
    expect(users.slice(0, 3).map((u) => [u.userPrincipalName, u.phone])).toEqual([
      ['alice.smith@contoso.example', '+447700900101'],
      ['bob.jones@contoso.example', '+447700900102'],
      ['carol.white@contoso.example', '+447700900103'],
    ]);
    expect(users.length).toBeGreaterThanOrEqual(8);
    expect(users.slice(3).every((u) => /^\+4477009002\d\d$/.test(u.phone))).toBe(true);
    const emails = new Set(day.records.flatMap((r) => {
      const item = r as { from: { email?: string | null }; to: Array<{ email?: string | null }> };
      return [item.from.email, ...item.to.map((p) => p.email)].filter((e): e is string => typeof e === 'string').map((e) => e.toLowerCase());
    }));
    const aliasOnly = users.filter((u) =>
      u.proxyAddresses.some((p) => emails.has(p.slice(5).toLowerCase()) && p.startsWith('smtp:')) &&
      !emails.has(u.userPrincipalName) && !emails.has(u.mail),
    );
    expect(aliasOnly).toHaveLength(1);
    expect(emails.has('carol.white@contoso.example')).toBe(false);
  });
});
