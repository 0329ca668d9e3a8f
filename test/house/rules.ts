/**
 * The house rules as a checker: reads every TypeScript file's imports (the
 * TypeScript compiler's own parser, so `import type` is told from a value
 * import) into a graph, and lists what breaks a rule. Pure over the graph, so
 * a test can give it a small made-up house and see each rule fail.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One import of a file: what it names, the file it reaches (in the repository) and whether it is erased at run time. */
export interface ImportEdge {
  specifier: string;
  /** The repository file it resolves to (relative, `/`-separated), or undefined for a package or a builtin. */
  target?: string;
  /** `import type`, `export type`, or named imports all marked `type`: nothing is loaded at run time. */
  typeOnly: boolean;
}

/** A file as the rules see it: its imports, and what its top level does. */
export interface HouseFile {
  imports: ImportEdge[];
  /** Top-level statements other than imports: `register` (app.x(...) / df.app.x(...)), `handler` (an exported function or const), `helper` (anything else that declares), `other` (the rest). */
  topLevel: { kind: 'register' | 'handler' | 'helper' | 'other'; name?: string; statements?: number }[];
  /** Calls of the clock or of randomness written in the file itself (`Date.now()`, `new Date()` without arguments, `Math.random()`). */
  nondeterminism: string[];
}

export type House = Record<string, HouseFile>;

/** Packages and builtins a functions/ file may import besides shared/. */
const RUNTIME = new Set(['@azure/functions', 'durable-functions']);

/** What the orchestrators may load at run time besides the repository's own files: the runtime, nothing that does I/O. */
const ORCHESTRATOR_PACKAGES = new Set(['durable-functions']);

/** How many statements a trigger's or an activity's handler may hold: enough to turn its input into a call and the result back. */
export const MAX_HANDLER_STATEMENTS = 8;

/** Reads the house from the repository's source folders. */
export function readHouse(root: string, folders: readonly string[] = ['functions', 'shared', 'local', 'bench', 'drill']): House {
  const house: House = {};
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  for (const folder of folders) {
    const dir = path.join(root, folder);
    if (!existsSync(dir)) continue;
    for (const file of walk(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
      house[rel(root, file)] = parseFile(root, file, readFileSync(file, 'utf8'));
    }
  }
  return house;
}

function rel(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** Parses one file's imports and top level. */
export function parseFile(root: string, file: string, text: string): HouseFile {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const imports: ImportEdge[] = [];
  const add = (specifier: string, typeOnly: boolean) => imports.push({ specifier, typeOnly, target: resolve(root, file, specifier) });
  const topLevel: HouseFile['topLevel'] = [];
  const nondeterminism: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      add(statement.moduleSpecifier.text, importIsTypeOnly(statement));
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      add(statement.moduleSpecifier.text, statement.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(statement)) {
      if (ts.isExternalModuleReference(statement.moduleReference) && ts.isStringLiteral(statement.moduleReference.expression)) {
        add(statement.moduleReference.expression.text, statement.isTypeOnly);
      }
    } else {
      topLevel.push(describeStatement(statement));
    }
  }
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const [first] = node.arguments;
      const literal = first && ts.isStringLiteralLike(first) ? first.text : undefined;
      if (literal !== undefined && (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require'))) {
        add(literal, false);
      }
      const callee = node.expression.getText(source);
      if (callee === 'Date.now' || callee === 'Math.random') nondeterminism.push(`${callee}()`);
    }
    if (ts.isNewExpression(node) && node.expression.getText(source) === 'Date' && (node.arguments?.length ?? 0) === 0) nondeterminism.push('new Date()');
    // `import('x').T` in a type position loads nothing.
    if (ts.isImportTypeNode(node)) return;
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { imports, topLevel, nondeterminism };
}

function importIsTypeOnly(statement: ts.ImportDeclaration): boolean {
  const clause = statement.importClause;
  if (!clause) return false; // a side-effect import loads the module
  if (clause.isTypeOnly) return true;
  if (clause.name) return false;
  const bindings = clause.namedBindings;
  return !!bindings && ts.isNamedImports(bindings) && bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

function describeStatement(statement: ts.Statement): HouseFile['topLevel'][number] {
  const exported = ts.canHaveModifiers(statement) && (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  if (ts.isExpressionStatement(statement) && ts.isCallExpression(statement.expression)) {
    const callee = statement.expression.expression.getText();
    if (/^(df\.)?app\.\w+$/.test(callee)) return { kind: 'register', name: callee };
  }
  if (ts.isFunctionDeclaration(statement)) {
    return { kind: exported ? 'handler' : 'helper', name: statement.name?.text, statements: statement.body?.statements.length ?? 0 };
  }
  if (ts.isVariableStatement(statement)) {
    const declaration = statement.declarationList.declarations[0];
    const init = declaration?.initializer;
    const body = init && (ts.isFunctionExpression(init) || ts.isArrowFunction(init)) ? init.body : undefined;
    const statements = body && ts.isBlock(body) ? body.statements.length : body ? 1 : undefined;
    return { kind: exported && body ? 'handler' : 'helper', name: declaration?.name.getText(), statements };
  }
  if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) return { kind: 'helper', name: statement.name.text };
  return { kind: 'other', name: ts.SyntaxKind[statement.kind] };
}

/** The repository file a relative specifier reaches, if any. */
function resolve(root: string, file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(file), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return rel(root, candidate);
  }
  return undefined;
}

/** The package a bare specifier names (`@scope/name/x` → `@scope/name`), or `node:x` for a builtin. */
export function packageOf(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return BUILTINS.has(name) ? `node:${name}` : name;
}

const BUILTINS = new Set(require('node:module').builtinModules as string[]);

const isOrchestrator = (file: HouseFile) => file.topLevel.some((t) => t.kind === 'register' && t.name === 'df.app.orchestration');

/** Rule 1: a functions/ file registers its function(s) and delegates to shared/: it imports only the runtime and shared/, and a trigger's or activity's handler is a few statements. */
export function functionsOnlyRegisterAndDelegate(house: House): string[] {
  const broken: string[] = [];
  for (const [name, file] of Object.entries(house).filter(([n]) => n.startsWith('functions/'))) {
    for (const edge of file.imports) {
      if (edge.target ? !edge.target.startsWith('shared/') : !RUNTIME.has(packageOf(edge.specifier))) broken.push(`${name} imports ${edge.specifier}`);
    }
    if (!file.topLevel.some((t) => t.kind === 'register')) broken.push(`${name} registers no function`);
    for (const t of file.topLevel.filter((x) => x.kind === 'other')) broken.push(`${name} has a top-level ${t.name}`);
    if (isOrchestrator(file)) continue; // the orchestrators are held by rule 3
    for (const t of file.topLevel) {
      if (t.kind === 'helper' && t.statements !== undefined) broken.push(`${name} declares ${t.name} beside its handler`);
      if (t.kind === 'handler' && (t.statements ?? 0) > MAX_HANDLER_STATEMENTS) broken.push(`${name}: ${t.name} has ${t.statements} statements (at most ${MAX_HANDLER_STATEMENTS}: delegate to shared/)`);
    }
  }
  return broken;
}

/** Rule 2: shared/ imports neither the Functions runtime, durable-functions nor local/. */
export function sharedKnowsNoRuntime(house: House): string[] {
  const broken: string[] = [];
  for (const [name, file] of Object.entries(house).filter(([n]) => n.startsWith('shared/'))) {
    for (const edge of file.imports) {
      const pkg = edge.target ? undefined : packageOf(edge.specifier);
      if (pkg === '@azure/functions' || pkg === '@azure/functions-core' || pkg === 'durable-functions') broken.push(`${name} imports ${edge.specifier}`);
      if (edge.target && !edge.target.startsWith('shared/')) broken.push(`${name} imports ${edge.target}`);
    }
  }
  return broken;
}

/**
 * Rule 3: the orchestrators load nothing that does I/O: what they and every
 * module they load at run time import is the repository's own files and
 * durable-functions, no builtin and no other package; and none of those files
 * reads the clock or randomness.
 */
export function orchestratorsDoNoIo(house: House): string[] {
  const broken: string[] = [];
  for (const [name, file] of Object.entries(house).filter(([n, f]) => n.startsWith('functions/') && isOrchestrator(f))) {
    const seen = new Set<string>([name]);
    const queue = [name];
    while (queue.length > 0) {
      const current = queue.shift()!;
      const here = current === name ? file : house[current];
      if (!here) continue;
      for (const clock of here.nondeterminism) broken.push(`${name} loads ${current}, which calls ${clock}`);
      for (const edge of here.imports.filter((e) => !e.typeOnly)) {
        if (!edge.target) {
          if (!ORCHESTRATOR_PACKAGES.has(packageOf(edge.specifier))) broken.push(`${name} loads ${current}, which imports ${edge.specifier}`);
        } else if (!seen.has(edge.target)) {
          seen.add(edge.target);
          queue.push(edge.target);
        }
      }
    }
  }
  return broken;
}

/** Rule 4: no import cycles (type imports included: a cycle of types is still a knot for the reader); each cycle once, as a path. */
export function importCycles(house: House): string[][] {
  // Tarjan's strongly connected components; each component of more than one file (or a file importing itself) is a cycle.
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const cycles: string[][] = [];
  const next = (v: string) => [...new Set((house[v]?.imports ?? []).map((e) => e.target).filter((t): t is string => !!t && t in house))];
  const connect = (v: string) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!indices.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || next(v).includes(v)) cycles.push(component.sort());
    }
  };
  for (const v of Object.keys(house).sort()) if (!indices.has(v)) connect(v);
  return cycles;
}

/** The folders of shared/, top to bottom: each imports only itself and those below it (docs/architecture.md, "Modules"). */
export const SHARED_LAYERS = ['app', 'http', 'activities', 'run', 'stages', 'platform', 'model'] as const;

/** Rule 5: an import in shared/ goes to its own folder or one below it; a file outside the folders is named as such. */
export function sharedLayersPointDown(house: House, layers: readonly string[] = SHARED_LAYERS): string[] {
  const broken: string[] = [];
  const layerOf = (file: string) => file.split('/')[1];
  for (const [name, file] of Object.entries(house).filter(([n]) => n.startsWith('shared/'))) {
    const from = layers.indexOf(layerOf(name));
    if (from < 0) {
      broken.push(`${name} is in no folder of shared/ (${layers.join(', ')})`);
      continue;
    }
    for (const edge of file.imports) {
      if (!edge.target?.startsWith('shared/') || !edge.target.endsWith('.ts')) continue;
      const to = layers.indexOf(layerOf(edge.target));
      if (to < from) broken.push(`${name} (${layerOf(name)}) imports ${edge.target} (${layerOf(edge.target)}), a folder above it`);
    }
  }
  return broken;
}
