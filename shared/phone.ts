/**
 * Phone numbers: E.164 normalisation (libphonenumber-js) and masking for logs.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

/**
 * The E.164 form of a number as a person would write it, or null when it is
 * not a possible number (a sender id such as `O2`, say). Possible, not valid:
 * numbering plans change and Ofcom's drama range must load.
 */
export function toE164(raw: string, defaultRegion: string = 'GB'): string | null {
  const text = raw.trim();
  if (!/\d/.test(text) || /[a-z]/i.test(text.replace(/^tel:/i, '').replace(/\s*(ext\.?|x)\s*\d+$/i, ''))) return null;
  // `0044 …` and `44…` without a plus are international forms in the UK and elsewhere.
  let candidate = text.replace(/\(0\)/g, '');
  if (/^00\d/.test(candidate.replace(/[\s\-.()]/g, ''))) candidate = '+' + candidate.replace(/[\s\-.()]/g, '').slice(2);
  const region = defaultRegion as CountryCode;
  let parsed = parsePhoneNumberFromString(candidate, region);
  if ((!parsed || !parsed.isPossible()) && /^\d{10,15}$/.test(candidate.replace(/[\s\-.()]/g, ''))) {
    parsed = parsePhoneNumberFromString('+' + candidate.replace(/[\s\-.()]/g, ''));
  }
  if (!parsed || !parsed.isPossible()) return null;
  return parsed.number;
}

/** A number masked for logs: `+447700900123` becomes `+4477******23`. */
export function maskPhone(phone: string): string {
  const text = phone.trim();
  if (text.length <= 6) return '*'.repeat(text.length);
  const head = text.startsWith('+') ? 5 : 4;
  return text.slice(0, head) + '*'.repeat(Math.max(0, text.length - head - 2)) + text.slice(-2);
}
