/**
 * CSV cells as the connector writes them (the failures CSV, the mapping in
 * force): RFC 4180 quoting, and no cell that a spreadsheet would run as a
 * formula. Excel and LibreOffice take a cell as a formula when it starts with
 * `=`, `+`, `-` or `@` (also the full-width forms, and also after leading
 * spaces), and a leading TAB or CR hides such a start; a cell like that is
 * written with a leading `'`, which both show as text. `restoreCell` undoes
 * exactly that, so a file the connector wrote reads back to what went in.
 */

// A cell that needs the apostrophe: one that would run, or one that already starts with apostrophes in
// front of such a start (so that the apostrophe the writer adds is never confused with one of the value's own).
const NEEDS_APOSTROPHE = /^'*(?:[\t\r]|\s*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/;

/** The value with a leading `'` when a spreadsheet would otherwise read it as a formula. */
export function defuseCell(value: string): string {
  return NEEDS_APOSTROPHE.test(value) ? `'${value}` : value;
}

/** The inverse of defuseCell: drops the one `'` it added, and leaves every other value as it is. */
export function restoreCell(value: string): string {
  return value.startsWith("'") && NEEDS_APOSTROPHE.test(value.slice(1)) ? value.slice(1) : value;
}

/** One cell: defused, then quoted when it holds a quote, a comma or a line break (RFC 4180). */
export function csvCell(value: string): string {
  const defused = defuseCell(value);
  return /[",\r\n]/.test(defused) ? `"${defused.replace(/"/g, '""')}"` : defused;
}

/** One CSV line (without its line end) of the given cells. */
export function csvLine(cells: readonly string[]): string {
  return cells.map(csvCell).join(',');
}
