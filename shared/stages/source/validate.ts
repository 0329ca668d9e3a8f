/**
 * Record validation: a raw record from the archive becomes an Item only when
 * it matches telemessage-item.schema.json, its timestamp is an ISO 8601
 * instant, and `call` is present exactly when the type is voice. Anything
 * else is bad input, set aside with its reason; details never quote message
 * text, only field paths and rules.
 */
import { createHash } from 'node:crypto';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { canonicalize } from 'json-canonicalize';
import itemSchema from '../../telemessage-item.schema.json';
import type { Item, ItemType } from '../../model/item';
import type { RecordValidation } from '../../model/stages';

const ITEM_TYPES: readonly ItemType[] = ['sms', 'mms', 'voice'];
/** How many schema errors a detail lists: enough to fix a record, short enough for a report cell. */
const MAX_ERRORS_IN_DETAIL = 3;

let compiled: ValidateFunction | undefined;

/** Compiled once per process: ajv compilation is the expensive part. */
function schemaValidator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, strict: true });
    addFormats(ajv);
    compiled = ajv.compile(itemSchema);
  }
  return compiled;
}

/** Validates one raw record and returns the normalised item with its source SHA-256, or why it is not valid. */
export function validateRecord(raw: unknown): RecordValidation {
  if (!isPlainObject(raw)) {
    return { ok: false, itemId: null, type: 'unknown', detail: `record is not a JSON object (${describeKind(raw)})` };
  }
  const itemId = usableId(raw.id);
  const type = ITEM_TYPES.includes(raw.type as ItemType) ? (raw.type as ItemType) : 'unknown';
  const invalid = (detail: string): RecordValidation => ({ ok: false, itemId, type, detail });

  const validate = schemaValidator();
  if (!validate(raw)) return invalid(`schema: ${describeSchemaErrors(validate.errors ?? [])}`);

  const instant = parseIsoInstant(raw.timestamp as string);
  if (instant === null) return invalid('timestamp: not an ISO 8601 instant (date, time and Z or an offset)');

  const hasCall = raw.call !== undefined;
  if (type === 'voice' && !hasCall) return invalid('call: required when type is voice');
  if (type !== 'voice' && hasCall) return invalid(`call: must be absent when type is ${type}`);

  // A deep copy, so that normalising never changes the record the caller holds (its hash is of the original).
  const item = structuredClone(raw) as unknown as Item;
  item.timestamp = instant;
  return { ok: true, item, sourceSha256: sourceSha256(raw) };
}

/** Hex SHA-256 of the RFC 8785 canonical JSON of a record with every `dataBase64` removed, so inline media never change its identity. */
export function sourceSha256(raw: unknown): string {
  const text = canonicalize(withoutInlineData(raw ?? null));
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A deep copy of `value` without any `dataBase64` property, at any depth. */
export function withoutInlineData<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withoutInlineData(v)) as unknown as T;
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      if (key !== 'dataBase64') copy[key] = withoutInlineData(v);
    }
    return copy as T;
  }
  return value;
}

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;

/**
 * The UTC ISO form (`YYYY-MM-DDTHH:mm:ss.sssZ`) of an ISO 8601 instant with
 * `Z` or an offset, or null. Parsed by hand because Date.parse accepts local
 * times and other forms that are not instants.
 */
export function parseIsoInstant(text: string): string | null {
  const m = ISO_INSTANT.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const millis = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0;
  let utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC rolls 31 February into March: a day that does not exist in its month is not an instant.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return null;
  if (!m[8]) {
    const offsetHours = Number(m[10]);
    const offsetMinutes = m[11] ? Number(m[11]) : 0;
    if (offsetHours > 23 || offsetMinutes > 59) return null;
    const sign = m[9] === '-' ? -1 : 1;
    utc -= sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  const date = new Date(utc);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function usableId(id: unknown): string | null {
  return typeof id === 'string' && id.trim().length > 0 && id.length <= 256 ? id : null;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Field path and rule of each error; never the value, which may be message text. */
function describeSchemaErrors(errors: readonly ErrorObject[]): string {
  const lines: string[] = [];
  for (const error of errors) {
    // oneOf on the recording repeats its branches' errors; the branch errors say more.
    if (error.keyword === 'oneOf' && errors.length > 1) continue;
    const field = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : 'record';
    const line = `${field} ${error.message ?? 'is not valid'}`;
    if (!lines.includes(line)) lines.push(line);
  }
  const shown = lines.slice(0, MAX_ERRORS_IN_DETAIL).join('; ');
  return lines.length > MAX_ERRORS_IN_DETAIL ? `${shown}; and ${lines.length - MAX_ERRORS_IN_DETAIL} more` : shown;
}
