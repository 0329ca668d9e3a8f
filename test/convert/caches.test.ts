/**
 * What the conversion keeps between items (parsed numbers by region, time zone
 * formatters by zone) never lets one item's answer leak into another's.
 */
import { callSummary, participantAddress, participantE164, participantLabel } from '../../shared/stages/convert';
import type { Item } from '../../shared/model/item';
import { toE164 } from '../../shared/model/phone';

describe('numbers kept by region', () => {
  test('the same written number in two regions gives each region its own answer, in either order', () => {
    expect(participantE164({ phone: '2025550147' }, 'US')).toBe('+12025550147');
    expect(participantE164({ phone: '2025550147' }, 'GB')).toBe('+442025550147');
    expect(participantE164({ phone: '2025550147' }, 'US')).toBe('+12025550147');

    expect(participantLabel({ phone: '0639981234' }, 'FR')).toBe('+33639981234');
    expect(participantLabel({ phone: '0639981234' }, 'GB')).toBe('0639981234');
    expect(participantAddress({ phone: '0639981234' }, 'GB')).toBe('0639981234@sender.mobile.invalid');
    expect(participantAddress({ phone: '0639981234' }, 'FR')).toBe('33639981234@mobile.invalid');
  });

  test('numbers written differently are told apart, and a sender id stays a sender id', () => {
    expect(toE164('07700 900123', 'GB')).toBe('+447700900123');
    expect(toE164('07700 900124', 'GB')).toBe('+447700900124');
    expect(toE164('O2', 'GB')).toBeNull();
    expect(toE164('O2', 'GB')).toBeNull();
    expect(toE164('07700 900123', 'FR')).toBeNull();
  });

  test('past the number kept, answers are still right (the oldest are parsed again)', () => {
    expect(toE164('07700 900001', 'GB')).toBe('+447700900001');
    for (let i = 0; i < 12_000; i++) toE164(`+1202555${String(i).padStart(4, '0')}`, 'GB');
    expect(toE164('07700 900001', 'GB')).toBe('+447700900001');
    expect(toE164('+12025551234', 'GB')).toBe('+12025551234');
    expect(toE164('07700 900001', 'FR')).toBeNull();
  });

  test('with more regions than are kept, each number still parses in its own region', () => {
    const regions = ['GB', 'US', 'FR', 'DE', 'IE', 'ES', 'IT', 'NL', 'BE', 'CH', 'AT', 'SE', 'CA'];
    for (let pass = 0; pass < 2; pass++) {
      for (const region of regions) toE164('2025550147', region);
      expect(toE164('2025550147', 'GB')).toBe('+442025550147');
      expect(toE164('2025550147', 'US')).toBe('+12025550147');
      expect(toE164('0639981234', 'FR')).toBe('+33639981234');
      expect(toE164('0639981234', 'GB')).toBeNull();
    }
  });
});

describe('time zone formatters kept by zone', () => {
  const call: Item = {
    id: 'tm-voice-cache',
    type: 'voice',
    direction: 'inbound',
    timestamp: '2026-11-25T15:20:00.000Z',
    from: { phone: '+447700900555' },
    to: [{ phone: '+447700900101' }],
    call: { durationSeconds: 5, status: 'answered' },
  };
  const startIn = (displayTimeZone: string) =>
    callSummary(call, [], { displayTimeZone, defaultRegion: 'GB' }).text.split('\n').find((l) => l.startsWith(`Start (${displayTimeZone})`));

  test('each zone shows its own time, whatever zone came before', () => {
    expect(startIn('Europe/London')).toBe('Start (Europe/London): Wed, 25 Nov 2026, 15:20:00 GMT');
    expect(startIn('America/New_York')).toBe('Start (America/New_York): Wed, 25 Nov 2026, 10:20:00 GMT-5');
    expect(startIn('Asia/Tokyo')).toBe('Start (Asia/Tokyo): Thu, 26 Nov 2026, 00:20:00 GMT+9');
    expect(startIn('Europe/London')).toBe('Start (Europe/London): Wed, 25 Nov 2026, 15:20:00 GMT');
  });

  test('an unknown zone is refused every time, and does not spoil the next call', () => {
    expect(() => startIn('Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => startIn('Mars/Olympus_Mons')).toThrow(RangeError);
    expect(startIn('America/New_York')).toBe('Start (America/New_York): Wed, 25 Nov 2026, 10:20:00 GMT-5');
  });

  test('more zones than are kept still each format in their own zone', () => {
    const zones = ['UTC', 'Europe/Paris', 'Europe/Berlin', 'Europe/Madrid', 'Europe/Dublin', 'Europe/Lisbon', 'Europe/Athens',
      'Asia/Kolkata', 'Asia/Dubai', 'Asia/Singapore', 'Australia/Sydney', 'America/Chicago', 'America/Denver',
      'America/Los_Angeles', 'America/Sao_Paulo', 'Africa/Johannesburg', 'Pacific/Auckland'];
    for (const zone of zones) startIn(zone);
    expect(startIn('Asia/Kolkata')).toBe('Start (Asia/Kolkata): Wed, 25 Nov 2026, 20:50:00 GMT+5:30');
    expect(startIn('Europe/London')).toBe('Start (Europe/London): Wed, 25 Nov 2026, 15:20:00 GMT');
  });
});
