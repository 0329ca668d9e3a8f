/**
 * Single-value extended property ids as Graph's "Outlook extended properties
 * overview" defines them: `{type} {proptag}` (e.g. `Integer 0x0E07`) or
 * `{type} {guid} Name {name}` / `{type} {guid} Id {id}`.
 *
 * Ids are compared the way Exchange resolves them: the type and the GUID
 * without regard to case, the tag by its number, and the string `Name`
 * case-sensitively (the docs: "Filtering the string name (Name) in the id of
 * an extended property is case-sensitive"). They are returned in one canonical
 * spelling (tags as `0xe07`, as Graph echoes them), so a client that compares
 * ids as raw strings breaks here as it would against the real service.
 */

const TYPES = [
  'Binary', 'Boolean', 'CLSID', 'Currency', 'Double', 'Float', 'Integer', 'Long', 'Object', 'Short', 'SystemTime', 'String',
  'BinaryArray', 'CLSIDArray', 'CurrencyArray', 'DoubleArray', 'FloatArray', 'IntegerArray', 'LongArray', 'ShortArray',
  'SystemTimeArray', 'StringArray',
];
const TYPE_BY_LOWER = new Map(TYPES.map((t) => [t.toLowerCase(), t]));

export interface ExtendedPropertyId {
  type: string;
  tag?: number;
  guid?: string;
  name?: string;
  dispId?: number;
}

/** Parses an extended property id, or returns null when it is not in a documented form. */
export function parseExtendedPropertyId(id: string): ExtendedPropertyId | null {
  const tagForm = /^\s*(\w+)\s+(0x[0-9a-fA-F]{1,4})\s*$/.exec(id);
  if (tagForm) {
    const type = TYPE_BY_LOWER.get(tagForm[1].toLowerCase());
    return type ? { type, tag: parseInt(tagForm[2], 16) } : null;
  }
  const named = /^\s*(\w+)\s+\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?\s+(Name|Id)\s+(.+?)\s*$/i.exec(id);
  if (named) {
    const type = TYPE_BY_LOWER.get(named[1].toLowerCase());
    if (!type) return null;
    const guid = named[2].toLowerCase();
    if (named[3].toLowerCase() === 'name') return { type, guid, name: named[4] };
    const dispId = Number(named[4]);
    return Number.isInteger(dispId) ? { type, guid, dispId } : null;
  }
  return null;
}

/** The one spelling the emulator stores and returns for an id. */
export function canonicalExtendedPropertyId(parsed: ExtendedPropertyId): string {
  if (parsed.tag !== undefined) return `${parsed.type} 0x${parsed.tag.toString(16)}`;
  if (parsed.name !== undefined) return `${parsed.type} {${parsed.guid}} Name ${parsed.name}`;
  return `${parsed.type} {${parsed.guid}} Id 0x${(parsed.dispId ?? 0).toString(16)}`;
}

/** True when two ids name the same property (the type must agree as well). */
export function sameExtendedProperty(a: string, b: string): boolean {
  const x = parseExtendedPropertyId(a);
  const y = parseExtendedPropertyId(b);
  if (!x || !y) return false;
  return canonicalExtendedPropertyId(x) === canonicalExtendedPropertyId(y);
}

/** Checks and normalises a value for its declared type; returns null when it does not fit. */
export function normaliseExtendedPropertyValue(type: string, value: unknown): string | null {
  if (typeof value !== 'string') return null;
  switch (type) {
    case 'Integer': case 'Short': case 'Long':
      return /^-?\d+$/.test(value.trim()) ? String(parseInt(value.trim(), 10)) : null;
    case 'Double': case 'Float': case 'Currency':
      return Number.isFinite(Number(value)) ? value.trim() : null;
    case 'Boolean':
      return /^(true|false)$/i.test(value.trim()) ? value.trim().toLowerCase() : null;
    case 'SystemTime': {
      const t = Date.parse(value);
      if (Number.isNaN(t)) return null;
      return new Date(t).toISOString().replace('.000Z', 'Z');
    }
    case 'CLSID':
      return /^\{?[0-9a-f-]{36}\}?$/i.test(value.trim()) ? value.trim().toLowerCase() : null;
    default:
      return value;
  }
}

/** PR_MESSAGE_FLAGS: its MSGFLAG_READ and MSGFLAG_UNSENT bits decide isRead and isDraft. */
export const PR_MESSAGE_FLAGS = 0x0e07;
/** PR_MESSAGE_DELIVERY_TIME: becomes receivedDateTime. */
export const PR_MESSAGE_DELIVERY_TIME = 0x0e06;
/** PR_CLIENT_SUBMIT_TIME: becomes sentDateTime. */
export const PR_CLIENT_SUBMIT_TIME = 0x0039;
export const MSGFLAG_READ = 0x1;
export const MSGFLAG_UNSENT = 0x8;
/** PS_INTERNET_HEADERS: where Exchange keeps X-headers of MIME it receives as named properties. */
export const PS_INTERNET_HEADERS = '00020386-0000-0000-c000-000000000046';
