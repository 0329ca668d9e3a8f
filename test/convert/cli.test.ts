/** `o2-archiver convert` through the real CLI entry point, in process. */
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main, type CommandIo } from '../../local/cli/main';
import { fixtureNames, FIXTURE_DIR, loadFixture, parse, sha256 } from './support';

const MAX = 10 * 1024 * 1024;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'o2-convert-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (l) => out.push(l), err: (l) => err.push(l) };
  const code = await main(argv, io);
  return { code, out, err };
}

function writeItem(name: string, item: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(item));
  return file;
}

function bigItem(mediaBytes: number): Record<string, unknown> {
  const bytes = Buffer.alloc(mediaBytes, 0x5a);
  return {
    id: `tm-cli-big-${mediaBytes}`,
    type: 'mms',
    direction: 'outbound',
    timestamp: '2026-11-25T10:00:00Z',
    from: { phone: '+447700900101', email: 'alice.smith@contoso.example', name: 'Alice Smith' },
    to: [{ phone: '+447700900555', email: null, name: null }],
    media: [{ id: 'v1', fileName: 'clip.mp4', contentType: 'video/mp4', size: bytes.length, sha256: sha256(bytes), dataBase64: bytes.toString('base64') }],
  };
}

test.each(fixtureNames())('converts the fixture %s (exit 0, the .eml parses)', async (name) => {
  const out = path.join(dir, name.replace(/\.json$/, '.eml'));
  const result = await run(['convert', path.join(FIXTURE_DIR, name), '--out', out]);
  expect(result.err).toEqual([]);
  expect(result.code).toBe(0);
  expect(result.out.join('\n')).toContain(out);
  const parsed = await parse(readFileSync(out));
  const raw = loadFixture(name) as { id: string; text?: string | null };
  expect(parsed.headers.get('x-o2archiver-item-id')).toBe(raw.id);
  if (raw.text) expect(parsed.text).toBe(raw.text);
});

test('an invalid item is refused with exit 1 and "invalid", and no file is written', async () => {
  const { id: _id, ...noId } = loadFixture('sms-outbound-internal.json');
  const out = path.join(dir, 'invalid.eml');
  const result = await run(['convert', writeItem('invalid.json', noId), `--out=${out}`]);
  expect(result.code).toBe(1);
  expect(result.err.join('\n')).toContain('invalid');
  expect(existsSync(out)).toBe(false);
});

test('a file that is not JSON is invalid', async () => {
  const file = path.join(dir, 'garbage.json');
  writeFileSync(file, '{ not json');
  const result = await run(['convert', file, '--out', path.join(dir, 'garbage.eml')]);
  expect(result.code).toBe(1);
  expect(result.err.join('\n')).toContain('invalid');
});

test('an offset timestamp is accepted and normalised to the same instant', async () => {
  const item = { ...loadFixture('sms-outbound-internal.json'), timestamp: '2026-11-25T10:14:03.120+01:00' };
  const out = path.join(dir, 'offset.eml');
  expect((await run(['convert', writeItem('offset.json', item), '--out', out])).code).toBe(0);
  expect((await parse(readFileSync(out))).date?.toISOString()).toBe('2026-11-25T09:14:03.000Z');
});

test('inline media that do not match their SHA-256 are refused with media-checksum-mismatch', async () => {
  const item = loadFixture('mms-photo.json') as { media: Array<{ dataBase64: string }> };
  item.media[1].dataBase64 = Buffer.from('BEGIN:VCARD\r\nFN:Someone Else\r\nEND:VCARD\r\n').toString('base64');
  const out = path.join(dir, 'mismatch.eml');
  const result = await run(['convert', writeItem('mismatch.json', item), '--out', out]);
  expect(result.code).toBe(1);
  expect(result.err.join('\n')).toContain('media-checksum-mismatch');
  expect(existsSync(out)).toBe(false);
});

test('exactly 10 MiB converts (exit 0); one byte more is too-large (exit 1)', async () => {
  const okOut = path.join(dir, 'max.eml');
  const ok = await run(['convert', writeItem('max.json', bigItem(MAX)), '--out', okOut]);
  expect(ok.err).toEqual([]);
  expect(ok.code).toBe(0);
  const parsed = await parse(readFileSync(okOut));
  expect(parsed.attachments[0].content.length).toBe(MAX);

  const overOut = path.join(dir, 'over.eml');
  const over = await run(['convert', writeItem('over.json', bigItem(MAX + 1)), '--out', overOut]);
  expect(over.code).toBe(1);
  expect(over.err.join('\n')).toContain('too-large');
  expect(over.err.join('\n')).toContain(`${MAX + 1} bytes > ${MAX}`);
  expect(existsSync(overOut)).toBe(false);
});

describe('settings', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  test('MAX_ITEM_BYTES and DISPLAY_TIME_ZONE are taken from the settings', async () => {
    process.env.MAX_ITEM_BYTES = '100';
    const small = await run(['convert', path.join(FIXTURE_DIR, 'mms-photo.json'), '--out', path.join(dir, 'small.eml')]);
    expect(small.code).toBe(1);
    expect(small.err.join('\n')).toContain('too-large');

    process.env.DISPLAY_TIME_ZONE = 'America/New_York';
    process.env.MAX_ITEM_BYTES = '1000';
    const out = path.join(dir, 'ny.eml');
    expect((await run(['convert', path.join(FIXTURE_DIR, 'voice-missed.json'), '--out', out])).code).toBe(0);
    expect((await parse(readFileSync(out))).text).toContain('Start (America/New_York): Wed, 25 Nov 2026, 11:05:30 GMT-5');
  });

  test('a malformed setting exits 2 naming it', async () => {
    process.env.MAX_ITEM_BYTES = 'lots';
    const result = await run(['convert', path.join(FIXTURE_DIR, 'sms-unmapped.json'), '--out', path.join(dir, 'x.eml')]);
    expect(result.code).toBe(2);
    expect(result.err.join('\n')).toContain('MAX_ITEM_BYTES');
  });
});

test('bad usage exits 2', async () => {
  expect((await run(['convert', path.join(FIXTURE_DIR, 'sms-unmapped.json')])).code).toBe(2);
  expect((await run(['convert', '--out', path.join(dir, 'x.eml')])).code).toBe(2);
  expect((await run(['convert', path.join(dir, 'missing.json'), '--out', path.join(dir, 'x.eml')])).code).toBe(2);
  expect((await run(['convert', path.join(FIXTURE_DIR, 'sms-unmapped.json'), '--out', path.join(dir, 'x.eml'), '--bogus', '1'])).code).toBe(2);
});
