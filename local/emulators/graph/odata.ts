/**
 * The OData subset Microsoft Graph accepts in `$filter`, `$select` and
 * `$expand` on the resources this emulator serves: comparison operators
 * (eq, ne, gt, ge, lt, le, in), and/or/not, parentheses, the lambda operators
 * any/all (Graph accepts `Any` as well as `any`), contains/startswith/endswith,
 * and `cast(ep/value, Edm.Int32)` as the extended-property docs use it.
 *
 * Anything outside that subset is a syntax error, so that a query the real
 * service would refuse is refused here too.
 */

export type FilterNode =
  | { kind: 'literal'; value: string | number | boolean | null; raw: string; isDate?: boolean }
  | { kind: 'path'; segments: string[] }
  | { kind: 'compare'; op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'; left: FilterNode; right: FilterNode }
  | { kind: 'in'; left: FilterNode; values: FilterNode[] }
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'lambda'; op: 'any' | 'all'; collection: string[]; variable: string; body: FilterNode }
  | { kind: 'call'; name: string; args: FilterNode[] }
  | { kind: 'cast'; operand: FilterNode; type: string };

/** A query Graph would reject as malformed; the server turns it into a 400. */
export class ODataSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ODataSyntaxError';
  }
}

type Token =
  | { t: 'str'; v: string }
  | { t: 'num'; v: number; raw: string }
  | { t: 'date'; v: string }
  | { t: 'guid'; v: string }
  | { t: 'id'; v: string }
  | { t: 'sym'; v: '(' | ')' | ',' | '/' | ':' };

const DATE_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})/;
const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') { i++; continue; }
    if (c === "'") {
      // OData escapes a quote inside a string literal by doubling it.
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new ODataSyntaxError('Unterminated string literal.');
        if (text[i] === "'") {
          if (text[i + 1] === "'") { v += "'"; i += 2; continue; }
          i++;
          break;
        }
        v += text[i++];
      }
      tokens.push({ t: 'str', v });
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '/' || c === ':') {
      tokens.push({ t: 'sym', v: c });
      i++;
      continue;
    }
    const rest = text.slice(i);
    const date = DATE_RE.exec(rest);
    if (date) { tokens.push({ t: 'date', v: date[0] }); i += date[0].length; continue; }
    const guid = GUID_RE.exec(rest);
    if (guid) { tokens.push({ t: 'guid', v: guid[0] }); i += guid[0].length; continue; }
    const num = /^-?\d+(\.\d+)?/.exec(rest);
    if (num && !/^[A-Za-z_]/.test(rest.slice(num[0].length))) {
      tokens.push({ t: 'num', v: Number(num[0]), raw: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_$@][A-Za-z0-9_.$@-]*/.exec(rest);
    if (id) { tokens.push({ t: 'id', v: id[0] }); i += id[0].length; continue; }
    throw new ODataSyntaxError(`Syntax error at position ${i} in '${text}'.`);
  }
  return tokens;
}

const COMPARE_OPS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['contains', 'startswith', 'endswith', 'tolower', 'toupper']);

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[], private readonly text: string) {}

  parse(): FilterNode {
    const node = this.parseOr();
    if (this.pos < this.tokens.length) throw this.error('unexpected token');
    return node;
  }

  private error(what: string): ODataSyntaxError {
    const tok = this.tokens[this.pos];
    return new ODataSyntaxError(`Invalid filter clause: ${what}${tok ? ` near '${'v' in tok ? String(tok.v) : ''}'` : ' at end'} in '${this.text}'.`);
  }

  private peekWord(): string | null {
    const tok = this.tokens[this.pos];
    return tok && tok.t === 'id' ? tok.v.toLowerCase() : null;
  }

  private isSym(v: string, offset = 0): boolean {
    const tok = this.tokens[this.pos + offset];
    return !!tok && tok.t === 'sym' && tok.v === v;
  }

  private expectSym(v: string): void {
    if (!this.isSym(v)) throw this.error(`expected '${v}'`);
    this.pos++;
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.peekWord() === 'or') {
      this.pos++;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseNot();
    while (this.peekWord() === 'and') {
      this.pos++;
      left = { kind: 'and', left, right: this.parseNot() };
    }
    return left;
  }

  private parseNot(): FilterNode {
    if (this.peekWord() === 'not') {
      this.pos++;
      return { kind: 'not', operand: this.parseNot() };
    }
    return this.parseComparison();
  }

  private parseComparison(): FilterNode {
    const left = this.parsePrimary();
    const word = this.peekWord();
    if (word && COMPARE_OPS.has(word)) {
      this.pos++;
      const right = this.parsePrimary();
      return { kind: 'compare', op: word as 'eq', left, right };
    }
    if (word === 'in') {
      this.pos++;
      this.expectSym('(');
      const values: FilterNode[] = [];
      if (!this.isSym(')')) {
        values.push(this.parsePrimary());
        while (this.isSym(',')) { this.pos++; values.push(this.parsePrimary()); }
      }
      this.expectSym(')');
      return { kind: 'in', left, values };
    }
    return left;
  }

  private parsePrimary(): FilterNode {
    const tok = this.tokens[this.pos];
    if (!tok) throw this.error('expression expected');
    if (tok.t === 'sym' && tok.v === '(') {
      this.pos++;
      const inner = this.parseOr();
      this.expectSym(')');
      return inner;
    }
    if (tok.t === 'str') { this.pos++; return { kind: 'literal', value: tok.v, raw: `'${tok.v}'` }; }
    if (tok.t === 'num') { this.pos++; return { kind: 'literal', value: tok.v, raw: tok.raw }; }
    if (tok.t === 'date') { this.pos++; return { kind: 'literal', value: tok.v, raw: tok.v, isDate: true }; }
    if (tok.t === 'guid') { this.pos++; return { kind: 'literal', value: tok.v.toLowerCase(), raw: tok.v }; }
    if (tok.t === 'id') {
      const lower = tok.v.toLowerCase();
      if (lower === 'true' || lower === 'false') { this.pos++; return { kind: 'literal', value: lower === 'true', raw: lower }; }
      if (lower === 'null') { this.pos++; return { kind: 'literal', value: null, raw: 'null' }; }
      if (this.isSym('(', 1)) {
        if (lower === 'cast') return this.parseCast();
        if (!FUNCTIONS.has(lower)) throw this.error(`unknown function '${tok.v}'`);
        this.pos += 2;
        const args: FilterNode[] = [];
        if (!this.isSym(')')) {
          args.push(this.parseOr());
          while (this.isSym(',')) { this.pos++; args.push(this.parseOr()); }
        }
        this.expectSym(')');
        return { kind: 'call', name: lower, args };
      }
      return this.parsePath();
    }
    throw this.error('expression expected');
  }

  private parseCast(): FilterNode {
    this.pos += 2;
    const operand = this.parseOr();
    this.expectSym(',');
    const typeTok = this.tokens[this.pos];
    if (!typeTok || typeTok.t !== 'id' || !/^Edm\./i.test(typeTok.v)) throw this.error('expected an Edm type');
    this.pos++;
    this.expectSym(')');
    return { kind: 'cast', operand, type: typeTok.v };
  }

  private parsePath(): FilterNode {
    const segments: string[] = [];
    for (;;) {
      const tok = this.tokens[this.pos];
      if (!tok || tok.t !== 'id') throw this.error('property expected');
      this.pos++;
      const lower = tok.v.toLowerCase();
      // `collection/any(x: ...)` — Graph accepts `Any` and `any` alike.
      if ((lower === 'any' || lower === 'all') && segments.length > 0 && this.isSym('(')) {
        this.pos++;
        const varTok = this.tokens[this.pos];
        if (!varTok || varTok.t !== 'id') throw this.error('lambda variable expected');
        this.pos++;
        this.expectSym(':');
        const body = this.parseOr();
        this.expectSym(')');
        return { kind: 'lambda', op: lower, collection: segments, variable: varTok.v, body };
      }
      segments.push(tok.v);
      if (!this.isSym('/')) break;
      this.pos++;
    }
    return { kind: 'path', segments };
  }
}

/** Parses a `$filter` expression into a tree, or throws ODataSyntaxError. */
export function parseFilter(text: string): FilterNode {
  if (!text.trim()) throw new ODataSyntaxError('The $filter expression is empty.');
  return new Parser(tokenize(text), text).parse();
}

/** Counts the equality expressions of a filter, each value of an `in` list counting once (Entra's 15-expression rule). */
export function countExpressions(node: FilterNode): number {
  switch (node.kind) {
    case 'and': case 'or': return countExpressions(node.left) + countExpressions(node.right);
    case 'not': return countExpressions(node.operand);
    case 'in': return node.values.length;
    case 'compare': return 1;
    case 'lambda': return countExpressions(node.body);
    case 'call': return 1;
    default: return 0;
  }
}

/** How a resource's properties are compared; lets the extended-property id use its own rules. */
export interface FilterSemantics {
  /** Known top-level property names (lower case); any other is an error. */
  properties: ReadonlySet<string>;
  /** The type name quoted in "Could not find a property" errors. */
  typeName: string;
  /** Custom equality for a path; return undefined to fall back to the default. */
  equals?: (path: ResolvedPath, left: unknown, right: unknown) => boolean | undefined;
}

export interface ResolvedPath {
  /** Lower-case name of the collection a lambda variable ranges over, if any. */
  collection?: string;
  /** Lower-case last segment. */
  property: string;
}

interface Scope {
  root: Record<string, unknown>;
  vars: Map<string, { value: unknown; collection: string }>;
}

function getProp(obj: unknown, name: string): unknown {
  if (obj === null || typeof obj !== 'object') return undefined;
  const lower = name.toLowerCase();
  for (const key of Object.keys(obj)) if (key.toLowerCase() === lower) return (obj as Record<string, unknown>)[key];
  return undefined;
}

interface Resolved { value: unknown; path?: ResolvedPath; isDate?: boolean }

function resolve(node: FilterNode, scope: Scope, sem: FilterSemantics): Resolved {
  switch (node.kind) {
    case 'literal': return { value: node.value, isDate: node.isDate };
    case 'path': {
      const [first, ...rest] = node.segments;
      let value: unknown;
      let collection: string | undefined;
      const variable = scope.vars.get(first);
      if (variable) {
        value = variable.value;
        collection = variable.collection;
      } else {
        if (!sem.properties.has(first.toLowerCase())) {
          throw new ODataSyntaxError(`Could not find a property named '${first}' on type '${sem.typeName}'.`);
        }
        value = getProp(scope.root, first);
      }
      for (const seg of rest) value = getProp(value, seg);
      const last = (rest.length ? rest[rest.length - 1] : first).toLowerCase();
      return { value, path: { collection, property: variable && rest.length === 0 ? '$it' : last } };
    }
    case 'cast': {
      const inner = resolve(node.operand, scope, sem);
      const t = node.type.toLowerCase();
      if (inner.value === null || inner.value === undefined) return { value: null };
      if (t === 'edm.int32' || t === 'edm.int64' || t === 'edm.int16') return { value: parseInt(String(inner.value), 10) };
      if (t === 'edm.double' || t === 'edm.single' || t === 'edm.decimal') return { value: Number(inner.value) };
      if (t === 'edm.boolean') return { value: String(inner.value).toLowerCase() === 'true' };
      if (t === 'edm.datetimeoffset') return { value: String(inner.value), isDate: true };
      if (t === 'edm.guid') return { value: String(inner.value).toLowerCase() };
      return { value: String(inner.value) };
    }
    case 'call': {
      const args = node.args.map((a) => resolve(a, scope, sem).value);
      const s = (v: unknown) => (v === null || v === undefined ? null : String(v).toLowerCase());
      if (node.name === 'tolower' || node.name === 'toupper') return { value: s(args[0]) };
      const [a, b] = [s(args[0]), s(args[1])];
      if (a === null || b === null) return { value: false };
      if (node.name === 'contains') return { value: a.includes(b) };
      if (node.name === 'startswith') return { value: a.startsWith(b) };
      return { value: a.endsWith(b) };
    }
    default:
      return { value: evaluate(node, scope, sem) };
  }
}

function defaultEquals(left: Resolved, right: Resolved): boolean {
  const a = left.value;
  const b = right.value;
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null);
  if (left.isDate || right.isDate) return Date.parse(String(a)) === Date.parse(String(b));
  if (typeof a === 'number' || typeof b === 'number') return Number(a) === Number(b);
  if (typeof a === 'boolean' || typeof b === 'boolean') return String(a).toLowerCase() === String(b).toLowerCase();
  // Exchange and Entra compare strings without regard to letter case.
  return String(a).toLowerCase() === String(b).toLowerCase();
}

function order(left: Resolved, right: Resolved): number | null {
  const a = left.value;
  const b = right.value;
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (left.isDate || right.isDate) return Math.sign(Date.parse(String(a)) - Date.parse(String(b)));
  if (typeof a === 'number' || typeof b === 'number') return Math.sign(Number(a) - Number(b));
  const x = String(a).toLowerCase();
  const y = String(b).toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function equalsWith(sem: FilterSemantics, left: Resolved, right: Resolved): boolean {
  const path = left.path ?? right.path;
  if (path && sem.equals) {
    const custom = sem.equals(path, left.path ? left.value : right.value, left.path ? right.value : left.value);
    if (custom !== undefined) return custom;
  }
  return defaultEquals(left, right);
}

function evaluate(node: FilterNode, scope: Scope, sem: FilterSemantics): boolean {
  switch (node.kind) {
    case 'and': return evaluate(node.left, scope, sem) && evaluate(node.right, scope, sem);
    case 'or': return evaluate(node.left, scope, sem) || evaluate(node.right, scope, sem);
    case 'not': return !evaluate(node.operand, scope, sem);
    case 'compare': {
      const left = resolve(node.left, scope, sem);
      const right = resolve(node.right, scope, sem);
      if (node.op === 'eq') return equalsWith(sem, left, right);
      if (node.op === 'ne') return !equalsWith(sem, left, right);
      const o = order(left, right);
      if (o === null) return false;
      return node.op === 'gt' ? o > 0 : node.op === 'ge' ? o >= 0 : node.op === 'lt' ? o < 0 : o <= 0;
    }
    case 'in': {
      const left = resolve(node.left, scope, sem);
      return node.values.some((v) => equalsWith(sem, left, resolve(v, scope, sem)));
    }
    case 'lambda': {
      const coll = resolve({ kind: 'path', segments: node.collection }, scope, sem).value;
      const items = Array.isArray(coll) ? coll : [];
      const collection = node.collection[node.collection.length - 1].toLowerCase();
      const test = (item: unknown) => {
        const vars = new Map(scope.vars);
        vars.set(node.variable, { value: item, collection });
        return evaluate(node.body, { root: scope.root, vars }, sem);
      };
      return node.op === 'any' ? items.some(test) : items.every(test);
    }
    case 'call': case 'path': case 'cast': case 'literal':
      return resolve(node, scope, sem).value === true;
  }
}

/** True when `entity` satisfies the parsed filter under the resource's semantics. */
export function matchesFilter(node: FilterNode, entity: Record<string, unknown>, sem: FilterSemantics): boolean {
  return evaluate(node, { root: entity, vars: new Map() }, sem);
}

/** Validates every property a filter names without evaluating it (so a bad filter fails even on an empty collection). */
export function checkFilterProperties(node: FilterNode, sem: FilterSemantics): void {
  matchesFilter(node, {}, sem);
}

export interface ExpandItem {
  property: string;
  filter?: string;
  select?: string[];
}

/** Splits on a separator at parenthesis depth zero (outside quotes). */
function splitTopLevel(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (const c of text) {
    if (c === "'") quoted = !quoted;
    if (!quoted && c === '(') depth++;
    if (!quoted && c === ')') depth--;
    if (!quoted && depth === 0 && c === sep) { parts.push(cur); cur = ''; continue; }
    cur += c;
  }
  if (depth !== 0 || quoted) throw new ODataSyntaxError(`Unbalanced parentheses or quotes in '${text}'.`);
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** Parses `$select=a,b` into property names. */
export function parseSelect(text: string | null): string[] | null {
  if (text === null) return null;
  const names = splitTopLevel(text, ',');
  if (names.length === 0) throw new ODataSyntaxError('The $select expression is empty.');
  for (const n of names) if (!/^[A-Za-z_@][A-Za-z0-9_.@]*$/.test(n)) throw new ODataSyntaxError(`Invalid $select item '${n}'.`);
  return names;
}

/** Parses `$expand=a($filter=...;$select=...),b` into items. */
export function parseExpand(text: string | null): ExpandItem[] {
  if (text === null) return [];
  return splitTopLevel(text, ',').map((part) => {
    const m = /^([A-Za-z_][A-Za-z0-9_.]*)(?:\((.*)\))?$/s.exec(part);
    if (!m) throw new ODataSyntaxError(`Invalid $expand item '${part}'.`);
    const item: ExpandItem = { property: m[1] };
    if (m[2] !== undefined) {
      for (const opt of splitTopLevel(m[2], ';')) {
        const eq = opt.indexOf('=');
        if (eq < 0) throw new ODataSyntaxError(`Invalid nested option '${opt}'.`);
        const name = opt.slice(0, eq).trim().toLowerCase();
        const value = opt.slice(eq + 1).trim();
        if (name === '$filter') item.filter = value;
        else if (name === '$select') item.select = parseSelect(value) ?? undefined;
        else throw new ODataSyntaxError(`Nested query option '${name}' is not supported in $expand.`);
      }
    }
    return item;
  });
}
