import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseIsoInstant, sourceSha256, validateRecord } from '../../shared/stages/source';
import { fixtureItem } from './helpers';

const fixtureNames = readdirSync(path.join(__dirname, '..', '..', 'fixtures', 'items')).map((f) => f.replace(/\.json$/, ''));

describe('validateRecord', () => {
  it.each(fixtureNames)('accepts the fixture %s', (name) => {
    const result = validateRecord(fixtureItem(name));
    expect(result).toMatchObject({ ok: true });
  });

  it('sets aside an invalid record among valid ones, with its id, type and reason', () => {
    const voiceWithoutCall: Record<string, unknown> = { ...fixtureItem('voice-missed'), id: 'tm-bad-1' };
    delete voiceWithoutCall.call;
    const results = [fixtureItem('sms-outbound-internal'), voiceWithoutCall, fixtureItem('mms-photo')].map(validateRecord);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toEqual({ ok: false, itemId: 'tm-bad-1', type: 'voice', detail: expect.stringContaining('call') });
  });

  it('refuses call details on a message', () => {
    const sms = { ...fixtureItem('sms-outbound-internal'), call: { durationSeconds: 1, status: 'answered' } };
    expect(validateRecord(sms)).toMatchObject({ ok: false, type: 'sms', detail: expect.stringMatching(/call.*absent/) });
  });

  it('reports a record without a usable id or type as itemId null, type unknown', () => {
    const record = { ...fixtureItem('sms-outbound-internal'), type: 'fax' } as Record<string, unknown>;
    delete record.id;
    expect(validateRecord(record)).toMatchObject({ ok: false, itemId: null, type: 'unknown' });
    expect(validateRecord('not a record')).toMatchObject({ ok: false, itemId: null, type: 'unknown' });
    expect(validateRecord(null)).toMatchObject({ ok: false, itemId: null, type: 'unknown' });
  });

  it('names the field but never quotes the message text', () => {
    const record = { ...fixtureItem('sms-outbound-internal'), direction: 'sideways', text: 'Confidential merger: Project Falcon' };
    const result = validateRecord(record);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.detail).toContain('direction');
    expect(result.detail).not.toContain('Falcon');
  });

  it('normalises an offset timestamp to UTC with Z, and only the timestamp', () => {
    const raw: Record<string, unknown> = { ...fixtureItem('sms-outbound-internal'), timestamp: '2026-11-25T10:14:03.120+01:00' };
    const result = validateRecord(raw);
    if (!result.ok) throw new Error(result.detail);
    expect(result.item.timestamp).toBe('2026-11-25T09:14:03.120Z');
    expect(result.item.text).toBe(raw.text);
    expect(raw.timestamp).toBe('2026-11-25T10:14:03.120+01:00'); // the record as received is untouched
  });

  it('refuses timestamps that are not instants', () => {
    for (const timestamp of ['2026-11-25T10:00:00', '2026-02-30T10:00:00Z', '25/11/2026 10:00', '2026-11-25']) {
      const result = validateRecord({ ...fixtureItem('sms-outbound-internal'), timestamp });
      expect(result).toMatchObject({ ok: false, detail: expect.stringContaining('timestamp') });
    }
  });

  it('hashes the record as received without its inline bytes', () => {
    const withBytes = fixtureItem('mms-photo');
    const withoutBytes = fixtureItem('mms-photo');
    for (const media of withoutBytes.media as Array<Record<string, unknown>>) delete media.dataBase64;
    const a = validateRecord(withBytes);
    const b = validateRecord(withoutBytes);
    if (!a.ok || !b.ok) throw new Error('fixture must be valid');
    expect(a.sourceSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a.sourceSha256).toBe(b.sourceSha256);
    // Key order does not matter (RFC 8785), content does.
    const reordered = Object.fromEntries(Object.entries(withoutBytes).reverse());
    expect(sourceSha256(reordered)).toBe(a.sourceSha256);
    expect(sourceSha256({ ...withoutBytes, text: 'changed' })).not.toBe(a.sourceSha256);
    // Inline bytes are for staging: the validated item still carries them.
    expect((a.item.media ?? [])[0].dataBase64).toBeDefined();
  });
});

describe('parseIsoInstant', () => {
  it('reads Z, offsets with and without a colon, and fractions', () => {
    expect(parseIsoInstant('2026-11-25T00:30:00+01:00')).toBe('2026-11-24T23:30:00.000Z');
    expect(parseIsoInstant('2026-11-25T00:30:00-0530')).toBe('2026-11-25T06:00:00.000Z');
    expect(parseIsoInstant('2026-11-25T00:30:00.123456Z')).toBe('2026-11-25T00:30:00.123Z');
    expect(parseIsoInstant('2024-02-29T12:00:00Z')).toBe('2024-02-29T12:00:00.000Z');
    expect(parseIsoInstant('2026-11-25T24:00:00Z')).toBeNull();
  });
});
