/**
 * Source text on its way into a header: control characters out, and values
 * that nodemailer could not fold encoded so no line passes 998 octets.
 */
import { encodeWord } from 'nodemailer/lib/mime-funcs';

/** Replaces CR, LF and every other control character (C0, DEL, C1) with a space, so no source text reaches a header raw. */
export function sanitizeHeaderText(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
}

// A header line may hold 998 octets; nodemailer folds only at whitespace, so a
// longer unbroken run would pass through whole. Well under the limit, with room for the name.
const UNFOLDABLE_RUN = /\S{800,}/;
const UNFOLDABLE_RUN_LENGTH = 800;

/**
 * An unstructured header value (already sanitised) as handed to nodemailer:
 * unchanged, unless it holds a run of text too long to fold or something that
 * reads like an encoded word; then it is RFC 2047 encoded whole, in short words,
 * so the header folds and parses back to exactly the value.
 */
export function prepareHeaderText(value: string): string {
  if (!hasUnfoldableRun(value) && !value.includes('=?')) return value;
  // nodemailer passes an all-ASCII value through as it is, so these encoded words reach the header unchanged.
  return encodeWord(value, /^[\x20-\x7e]*$/.test(value) ? 'Q' : 'B', 52);
}

/** True when `value` holds a run without whitespace too long for a header line. */
export function hasUnfoldableRun(value: string): boolean {
  // The regex tries a run from every position (a microsecond for a subject line),
  // and a value shorter than a run cannot hold one.
  return value.length >= UNFOLDABLE_RUN_LENGTH && UNFOLDABLE_RUN.test(value);
}

