/**
 * The custom user-mapping CSV (contracts/user-mapping-csv.md): parsing and
 * validation, the canonical form the store keeps, and the difference between
 * two mappings. Pure functions; the store and the CLI build on them.
 */
import Papa from 'papaparse';
import { csvLine, defuseCell, restoreCell } from '../../platform/csv';
import { maskPhone, toE164 } from '../../model/phone';

/** One valid line of a mapping file: an E.164 number and the mailbox it goes to. */
export interface MappingEntry {
  /** E.164, e.g. `+447700900101`. */
  phone: string;
  /** The mailbox address, lower case. */
  mailbox: string;
  /** Physical line of the file (1-based) the entry came from. */
  line: number;
}

/** A problem of a mapping file, on a physical line (1-based, a header is line 1). */
export interface MappingProblem {
  line: number;
  message: string;
}

/** What validating a mapping file found; `ok` means it loads (no errors; warnings allowed). */
export interface MappingValidation {
  ok: boolean;
  /** The valid lines, one per distinct number (the first line that mapped it). */
  entries: MappingEntry[];
  errors: MappingProblem[];
  warnings: MappingProblem[];
}

export interface MappingCsvOptions {
  /** Region for numbers written without a country code (`DEFAULT_PHONE_REGION`). */
  defaultRegion: string;
}

/** The mapping in force: E.164 number → lower-case mailbox address. */
export type MappingTable = ReadonlyMap<string, string>;

/** How the mapping changed between two versions (the store's change record). */
export interface MappingDiff {
  added: { phone: string; mailbox: string }[];
  removed: { phone: string; mailbox: string }[];
  repointed: { phone: string; from: string; to: string }[];
}

// Header names of the contract, compared after trimming, lower-casing and
// collapsing inner spaces ("Microsoft 365  User Mailbox" is still the header).
const PHONE_HEADERS = ['external user id', 'phone', 'phone number', 'mobile', 'mobile number'];
const MAILBOX_HEADERS = ['microsoft 365 user mailbox', 'mailbox', 'email', 'userprincipalname'];
const DELIMITERS = [',', ';', '\t'] as const;

/** The header the store writes: TeleMessage's own, so the canonical file is also TeleMessage's format. */
export const CANONICAL_HEADER = 'External User ID,Microsoft 365 User Mailbox';

interface PhysicalRow {
  cells: string[];
  line: number;
  parseError?: string;
}

/**
 * Parses and validates a mapping file of any form the contract allows and
 * reports every problem on its physical line.
 */
export function parseMappingCsv(text: string, options: MappingCsvOptions): MappingValidation {
  const errors: MappingProblem[] = [];
  const warnings: MappingProblem[] = [];
  const entries: MappingEntry[] = [];
  const rows = readRows(text).filter((row) => row.parseError || row.cells.some((cell) => cell.trim() !== ''));

  if (rows.length === 0) {
    warnings.push({ line: 1, message: 'the file maps no numbers' });
    return { ok: true, entries, errors, warnings };
  }

  let phoneColumn = 0;
  let mailboxColumn = 1;
  let dataRows = rows;
  const header = detectHeader(rows[0].cells);
  if (header) {
    dataRows = rows.slice(1);
    if (header.phone === undefined || header.mailbox === undefined) {
      const missing =
        header.phone === undefined
          ? `no phone column (name it one of: ${PHONE_HEADERS.join(', ')})`
          : `no mailbox column (name it one of: ${MAILBOX_HEADERS.join(', ')})`;
      errors.push({ line: rows[0].line, message: `missing column: the header has ${missing}` });
      return { ok: false, entries, errors, warnings };
    }
    phoneColumn = header.phone;
    mailboxColumn = header.mailbox;
  }

  const seen = new Map<string, MappingEntry>();
  for (const row of dataRows) {
    if (row.parseError) {
      errors.push({ line: row.line, message: row.parseError });
      continue;
    }
    // A number the connector wrote for spreadsheets (`'+447700900101`, see formatMappingCsv) reads as the number.
    const rawPhone = restoreCell(row.cells[phoneColumn] ?? '').trim();
    const rawMailbox = (row.cells[mailboxColumn] ?? '').trim();
    if (rawPhone === '' || rawMailbox === '') {
      const which = rawPhone === '' ? 'phone' : 'mailbox';
      const hint = row.cells.length < 2 ? ' (the line has one column: is the delimiter , ; or tab?)' : '';
      errors.push({ line: row.line, message: `missing column: no ${which}${hint}` });
      continue;
    }
    const phone = toE164(rawPhone, options.defaultRegion);
    const mailbox = normaliseMailbox(rawMailbox);
    if (phone === null || mailbox === null) {
      const swapped = phone === null && mailbox === null && normaliseMailbox(rawPhone) !== null;
      if (swapped) {
        errors.push({ line: row.line, message: 'the phone and mailbox columns are the wrong way round' });
        continue;
      }
      if (phone === null) {
        const hint = row === rows[0] ? ' (if this line is a header, name its columns as the contract says)' : '';
        errors.push({ line: row.line, message: `the phone ${describeRaw(rawPhone)} is not a phone number${hint}` });
      }
      if (mailbox === null) {
        errors.push({ line: row.line, message: `the mailbox ${describeRaw(rawMailbox)} is not an email address` });
      }
      continue;
    }

    const earlier = seen.get(phone);
    if (!earlier) {
      const entry = { phone, mailbox, line: row.line };
      seen.set(phone, entry);
      entries.push(entry);
    } else if (earlier.mailbox === mailbox) {
      warnings.push({
        line: row.line,
        message: `the phone ${maskPhone(phone)} is mapped to ${mailbox} again (first on line ${earlier.line})`,
      });
    } else {
      errors.push({
        line: row.line,
        message:
          `the phone ${maskPhone(phone)} is mapped to ${mailbox} on line ${row.line} ` +
          `but to ${earlier.mailbox} on line ${earlier.line}`,
      });
    }
  }
  if (entries.length === 0 && errors.length === 0) warnings.push({ line: rows[0].line, message: 'the file maps no numbers' });
  return { ok: errors.length === 0, entries, errors, warnings };
}

/** The mapping table of a file's valid entries. */
export function mappingTableOf(entries: readonly MappingEntry[]): MappingTable {
  return new Map(entries.map((entry) => [entry.phone, entry.mailbox]));
}

/**
 * The canonical CSV of a table: TeleMessage's header, E.164 numbers, lower-case
 * mailboxes, sorted by number; it loads with any default region. No cell is
 * read as a formula by a spreadsheet, and every one reads back as it went in:
 * a number (E.164 starts with `+`) is written `'+447700900101`, the apostrophe
 * dropped again on reading; a mailbox that starts like a formula
 * (`-ops@contoso.example`) is written `mailto:-ops@contoso.example`, a form
 * the parser has always read as the address.
 */
export function formatMappingCsv(table: MappingTable): string {
  const lines = [...table.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([phone, mailbox]) => csvLine([phone, defuseCell(mailbox) === mailbox ? mailbox : `mailto:${mailbox}`]));
  return [CANONICAL_HEADER, ...lines].join('\r\n') + '\r\n';
}

/** The numbers added, removed and re-pointed from `before` to `after`. */
export function diffMappings(before: MappingTable, after: MappingTable): MappingDiff {
  const diff: MappingDiff = { added: [], removed: [], repointed: [] };
  for (const [phone, mailbox] of after) {
    const old = before.get(phone);
    if (old === undefined) diff.added.push({ phone, mailbox });
    else if (old !== mailbox) diff.repointed.push({ phone, from: old, to: mailbox });
  }
  for (const [phone, mailbox] of before) {
    if (!after.has(phone)) diff.removed.push({ phone, mailbox });
  }
  const byPhone = (a: { phone: string }, b: { phone: string }) => (a.phone < b.phone ? -1 : a.phone > b.phone ? 1 : 0);
  diff.added.sort(byPhone);
  diff.removed.sort(byPhone);
  diff.repointed.sort(byPhone);
  return diff;
}

/** The lower-case address when `raw` is an email address (a `mailto:` prefix is allowed), else null. */
export function normaliseMailbox(raw: string): string | null {
  const address = raw.trim().replace(/^mailto:/i, '').toLowerCase();
  // Deliberately stricter than RFC 5322: a mailbox in Microsoft 365 is a plain
  // local@domain, and anything else in this file is a typo worth reporting.
  const local = "[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*";
  const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
  const pattern = new RegExp(`^${local}@${label}(?:\\.${label})+$`);
  return address.length <= 320 && pattern.test(address) ? address : null;
}

/**
 * The rows of the file with the physical line each starts on. Line endings are
 * normalised first so that CR, LF and CRLF (even mixed) count one line each,
 * and a quoted field spanning lines moves the next row's line on by as many.
 */
function readRows(text: string): PhysicalRow[] {
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const delimiter = guessDelimiter(normalised);
  const rows: PhysicalRow[] = [];
  let start = 0;
  let line = 1;
  Papa.parse<string[]>(normalised, {
    delimiter,
    newline: '\n',
    quoteChar: '"',
    escapeChar: '"',
    skipEmptyLines: false,
    step: (result) => {
      const end = result.meta.cursor;
      const row: PhysicalRow = { cells: result.data, line };
      const quoteError = result.errors.find((e) => e.type === 'Quotes');
      if (quoteError) {
        row.parseError =
          quoteError.code === 'MissingQuotes'
            ? 'a quoted field is never closed (the rest of the file was read as one field)'
            : 'a quote in a field is not doubled ("") or the field is not quoted whole';
      }
      rows.push(row);
      for (let i = start; i < end; i++) if (normalised.charCodeAt(i) === 10) line++;
      start = end;
    },
  });
  return rows;
}

/**
 * The delimiter under which most rows have two or more fields; ties go to the
 * comma. Papaparse's own guess looks at field-count consistency only, which a
 * file of one-column mistakes can fool.
 */
function guessDelimiter(text: string): string {
  let best: string = ',';
  let bestCount = -1;
  for (const delimiter of DELIMITERS) {
    const parsed = Papa.parse<string[]>(text, { delimiter, newline: '\n', skipEmptyLines: 'greedy', preview: 200 });
    const count = parsed.data.filter((cells) => cells.length >= 2).length;
    if (count > bestCount) {
      best = delimiter;
      bestCount = count;
    }
  }
  return best;
}

/** The columns of a header row, or null when the first row is not a header (no recognised name). */
function detectHeader(cells: readonly string[]): { phone?: number; mailbox?: number } | null {
  const names = cells.map((cell) => cell.trim().toLowerCase().replace(/\s+/g, ' '));
  const phone = names.findIndex((name) => PHONE_HEADERS.includes(name));
  const mailbox = names.findIndex((name) => MAILBOX_HEADERS.includes(name));
  if (phone < 0 && mailbox < 0) return null;
  return { phone: phone < 0 ? undefined : phone, mailbox: mailbox < 0 ? undefined : mailbox };
}

/**
 * A raw value for a message: shown as written unless it holds enough digits to
 * be someone's number, which is masked (messages may end up in logs).
 */
function describeRaw(raw: string): string {
  const shown = raw.length > 60 ? raw.slice(0, 57) + '...' : raw;
  return (raw.match(/\d/g) ?? []).length >= 6 ? `'${maskPhone(shown)}'` : `'${shown}'`;
}
