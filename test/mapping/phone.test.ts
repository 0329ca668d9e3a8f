import { maskPhone, toE164 } from '../../shared/model/phone';

describe('toE164 (as the mapping file and the resolver use it)', () => {
  it.each([
    ['07911 123456', '+447911123456'],
    ['+44 (0)7911 123456', '+447911123456'],
    ['0044 7911 123456', '+447911123456'],
    ['447911123456', '+447911123456'],
    ['07700 900000', '+447700900000'],
    ['07700 900999', '+447700900999'],
    ['445204334324', '+445204334324'],
    ["'447700900101", '+447700900101'],
    ['\uFF10\uFF17\uFF17\uFF10\uFF10 \uFF19\uFF10\uFF10\uFF11\uFF10\uFF11', '+447700900101'],
    ['07700\u00a0900101', '+447700900101'],
    ['+353 86 123 4567', '+353861234567'],
  ])('%s is %s', (raw, e164) => {
    expect(toE164(raw, 'GB')).toBe(e164);
  });

  it.each(['O2', 'not-a-number', '12345', '07700 90010', '077009001011', '0861234567', '4.47701E+11', ''])(
    '%s is not a number in GB',
    (raw) => {
      expect(toE164(raw, 'GB')).toBeNull();
    },
  );

  it('reads a national number in the default region given', () => {
    expect(toE164('086 123 4567', 'IE')).toBe('+353861234567');
  });
});

describe('maskPhone', () => {
  it('keeps only the country code and the last two digits', () => {
    expect(maskPhone('+447700900123')).toBe('+4477******23');
    expect(maskPhone('+447700900123')).not.toContain('900');
  });
});
