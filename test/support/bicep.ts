/**
 * A small reader of infra/main.bicep for tests: no Bicep compiler can be
 * installed on the development machines, so the template is checked as
 * text. It finds declarations (`param`, `var`, `resource`) and reads the keys
 * of object literals, skipping strings and comments. It understands only as
 * much Bicep as the template uses, and throws when what it looks for is not
 * there, so a change of shape fails the tests instead of passing them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const BICEP_PATH = path.resolve(__dirname, '../../infra/main.bicep');

/** The template's text. */
export function readBicep(): string {
  return readFileSync(BICEP_PATH, 'utf8');
}

/** Replaces comments and string contents by spaces (same length), so that brackets and keys in them are not read as code. */
export function blankStringsAndComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith("'''", i)) {
      const end = text.indexOf("'''", i + 3);
      const stop = end < 0 ? text.length : end + 3;
      out += "'''" + text.slice(i + 3, Math.max(i + 3, stop - 3)).replace(/[^\n]/g, ' ') + (end < 0 ? '' : "'''");
      i = stop;
    } else if (text[i] === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== "'") j += text[j] === '\\' ? 2 : 1;
      out += "'" + text.slice(i + 1, j).replace(/[^\n]/g, ' ') + "'";
      i = j + 1;
    } else if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

/** The index just past the bracket that closes the one at `open` (in blanked text). */
function closing(blank: string, open: number): number {
  const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
  const stack: string[] = [];
  for (let i = open; i < blank.length; i++) {
    const c = blank[i];
    if (pairs[c]) stack.push(pairs[c]);
    else if (c === '}' || c === ']' || c === ')') {
      if (stack.pop() !== c) throw new Error(`unbalanced '${c}' at ${i}`);
      if (stack.length === 0) return i + 1;
    }
  }
  throw new Error(`no closing bracket for the one at ${open}`);
}

/**
 * The expression of a declaration: `var name = <expr>`, `param name <type> = <expr>`,
 * or the body of `resource name '<type>' = {…}` (conditions and loops included).
 */
export function declaration(text: string, kind: 'var' | 'param' | 'resource' | 'output', name: string): string {
  const blank = blankStringsAndComments(text);
  const re = new RegExp(`^${kind} ${name}\\b[^=\\n]*=\\s*`, 'm');
  const m = re.exec(blank);
  if (!m) throw new Error(`infra/main.bicep declares no ${kind} ${name}`);
  const start = m.index + m[0].length;
  // The expression runs to the end of its line, past the brackets it opens there, and on
  // through lines that continue a condition (`? …`, `: …`).
  let i = start;
  let end = start;
  const continues = (at: number) => /^\n[ \t]*[?:]/.test(blank.slice(at, at + 200));
  while (i < blank.length && (blank[i] !== '\n' || continues(i))) {
    const c = blank[i];
    if (c === '{' || c === '[' || c === '(') {
      i = closing(blank, i);
      end = i;
      continue;
    }
    i++;
    if (blank[i - 1].trim()) end = i;
  }
  return text.slice(start, end);
}

/** The keys of every object literal in `expr` that sits at its top level (both branches of a `?:`, say). */
export function topLevelObjectKeys(expr: string): string[] {
  const blank = blankStringsAndComments(expr);
  const keys: string[] = [];
  let i = 0;
  while (i < blank.length) {
    if (blank[i] === '{') {
      const end = closing(blank, i);
      keys.push(...objectKeys(expr.slice(i, end)));
      i = end;
    } else if (blank[i] === '[' || blank[i] === '(') {
      i = closing(blank, i);
    } else i++;
  }
  return keys;
}

/** The keys of one object literal `{ … }`: its own, not those of objects nested in it. */
export function objectKeys(objectText: string): string[] {
  const blank = blankStringsAndComments(objectText);
  if (blank[0] !== '{') throw new Error('not an object literal');
  const keys: string[] = [];
  let depth = 0;
  let lineStart = true;
  for (let i = 0; i < blank.length; i++) {
    const c = blank[i];
    if (c === '{' || c === '[' || c === '(') depth++;
    else if (c === '}' || c === ']' || c === ')') depth--;
    else if (c === '\n') {
      lineStart = true;
      continue;
    }
    if (depth === 1 && lineStart && /\S/.test(c) && c !== '{') {
      const m = /^([A-Za-z_][A-Za-z0-9_]*|'[^']*')\s*:/.exec(objectText.slice(i));
      if (m) keys.push(m[1].replace(/^'|'$/g, ''));
      lineStart = false;
    } else if (/\S/.test(c)) lineStart = false;
  }
  return keys;
}

/** The names passed to `union(…)` in `var appSettings`: the objects whose keys become the function app's settings. */
export function appSettingNames(text: string): { names: string[]; sources: string[] } {
  const expr = declaration(text, 'var', 'appSettings').trim();
  const m = /^union\(([\s\S]*)\)$/.exec(expr);
  if (!m) throw new Error('var appSettings is no longer union(…) of objects: teach test/support/bicep.ts the new shape');
  const sources = m[1].split(',').map((s) => s.trim()).filter(Boolean);
  const names: string[] = [];
  for (const source of sources) {
    let body: string;
    try {
      body = declaration(text, 'var', source);
    } catch {
      body = declaration(text, 'param', source);
    }
    names.push(...topLevelObjectKeys(body));
  }
  return { names, sources };
}

/** Every `resource` declaration: symbolic name and type (with API version). */
export function resources(text: string): { name: string; type: string }[] {
  const blank = blankStringsAndComments(text);
  const out: { name: string; type: string }[] = [];
  const re = /^resource (\w+) '/gm;
  for (let m = re.exec(blank); m; m = re.exec(blank)) {
    const typeStart = m.index + m[0].length;
    out.push({ name: m[1], type: text.slice(typeStart, text.indexOf("'", typeStart)) });
  }
  return out;
}
