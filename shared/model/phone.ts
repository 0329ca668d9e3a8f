/**
 * Phone numbers: E.164 normalisation (libphonenumber-js) and masking for logs.
 */
import { parsePhoneNumberFromString, type CountryCode, type PhoneNumber } from 'libphonenumber-js/max';

/**
 * The E.164 form of a number as a person would write it, or null when it is
 * not a possible number (a sender id such as `O2`, say). Possible and of the
 * region's shape, not necessarily valid: numbering plans change and Ofcom's
 * drama range must load.
 */
export function toE164(raw: string, defaultRegion: string = 'GB'): string | null {
  // Parsing with the full metadata costs tens of microseconds and a day names the
  // same few numbers again and again (each item several times over), so answers are kept.
  let known = e164Cache.get(defaultRegion);
  if (known === undefined) {
    if (e164Cache.size >= E164_CACHE_REGIONS) e164Cache.clear();
    e164Cache.set(defaultRegion, (known = new Map()));
  }
  const cached = known.get(raw);
  if (cached !== undefined) return cached;
  const e164 = parseE164(raw, defaultRegion);
  if (known.size >= E164_CACHE_ENTRIES) known.delete(known.keys().next().value!);
  known.set(raw, e164);
  return e164;
}

/**
 * Numbers kept by toE164: by default region (a setting, so one or two), then
 * by the number as written, to E.164 or null; the oldest number goes first.
 * Two levels, so a look-up hashes the string it was given and builds no key.
 */
const E164_CACHE_ENTRIES = 10_000;
const E164_CACHE_REGIONS = 8;
const e164Cache = new Map<string, Map<string, string | null>>();

function parseE164(raw: string, defaultRegion: string): string | null {
  // NFKC turns full-width digits and odd spaces (as pasted from some sheets) into plain ones.
  const text = raw.normalize('NFKC').trim();
  if (!/\d/.test(text) || /[a-z]/i.test(text.replace(/^tel:/i, '').replace(/\s*(ext\.?|x)\s*\d+$/i, ''))) return null;
  // `0044 …` and `44…` without a plus are international forms in the UK and elsewhere.
  let candidate = text.replace(/\(0\)/g, '');
  if (/^00\d/.test(candidate.replace(/[\s\-.()]/g, ''))) candidate = '+' + candidate.replace(/[\s\-.()]/g, '').slice(2);
  const region = defaultRegion as CountryCode;
  let parsed = parsePhoneNumberFromString(candidate, region);
  if (!isAcceptable(parsed) && /^\d{10,15}$/.test(candidate.replace(/[\s\-.()]/g, ''))) {
    parsed = parsePhoneNumberFromString('+' + candidate.replace(/[\s\-.()]/g, ''));
  }
  return parsed && isAcceptable(parsed) ? parsed.number : null;
}

/** In service, or at least possible and of its region's shape (see hasNationalShape). */
function isAcceptable(parsed: PhoneNumber | undefined): parsed is PhoneNumber {
  return !!parsed && parsed.isPossible() && (parsed.isValid() || hasNationalShape(parsed));
}

/**
 * True when a number that is not (or not yet) in service still has the shape
 * of its region: some national format fits it whole. `isPossible()` alone
 * checks only the region's lengths, so `07700 90010` (a digit short, but nine
 * digits is a length some GB numbers have) would otherwise load and never
 * match; Ofcom's drama range and TeleMessage's `445204334324` keep loading.
 */
function hasNationalShape(parsed: PhoneNumber): boolean {
  // libphonenumber gives back the bare digits when no format of the region
  // fits: the sign that the number has no shape there.
  return parsed.formatNational().replace(/\D/g, '') !== parsed.nationalNumber || /\D/.test(parsed.formatNational());
}

/** A number masked for logs: `+447700900123` becomes `+4477******23`. */
export function maskPhone(phone: string): string {
  const text = phone.trim();
  if (text.length <= 6) return '*'.repeat(text.length);
  const head = text.startsWith('+') ? 5 : 4;
  return text.slice(0, head) + '*'.repeat(Math.max(0, text.length - head - 2)) + text.slice(-2);
}
