/**
 * The house rules (STYLE.md, "The house"; docs/architecture.md, "Modules"),
 * kept by a test: functions/ only registers and delegates; shared/ knows
 * neither the Functions runtime, durable-functions nor local/; the
 * orchestrators load nothing that does I/O or reads the clock; no import
 * cycles; the folders of shared/ import only downwards. The checker is shown
 * failing on a small made-up house first.
 */
import { PROJECT_ROOT } from '../support/stack';
import { functionsOnlyRegisterAndDelegate, importCycles, orchestratorsDoNoIo, parseFile, readHouse, sharedKnowsNoRuntime, sharedLayersPointDown, type House } from './rules';

/** A made-up house from file texts, parsed as the real one is. */
function houseOf(files: Record<string, string>): House {
  const root = '/house';
  const house: House = {};
  for (const [name, text] of Object.entries(files)) house[name] = parseFile(root, `${root}/${name}`, text);
  // Resolution looks at the disk; in the made-up house, resolve against its own file names.
  for (const [name, file] of Object.entries(house)) {
    for (const edge of file.imports) {
      if (!edge.specifier.startsWith('.')) continue;
      const base = new URL(edge.specifier, `file:///${name}`).pathname.slice(1);
      edge.target = [`${base}.ts`, `${base}/index.ts`].find((candidate) => candidate in files);
    }
  }
  return house;
}

const handler = (name: string, body: string) => `import { app } from '@azure/functions';
import { work } from '../shared/work';
export async function ${name}(input: unknown) {
  ${body}
}
app.http('${name}', { handler: ${name} });
`;

describe('the house rules checker', () => {
  it('finds a functions/ file that does the work itself or reaches past shared/', () => {
    const house = houseOf({
      'functions/thin.ts': handler('thin', 'return work(input);'),
      'functions/fat.ts': handler('fat', Array.from({ length: 9 }, (_, i) => `const x${i} = ${i};`).join('\n')),
      'functions/reaches.ts': `import { app } from '@azure/functions';\nimport { readFileSync } from 'node:fs';\nimport { stack } from '../local/stack';\nexport function reaches() { return stack(readFileSync); }\napp.http('reaches', { handler: reaches });\n`,
      'functions/helper.ts': `${handler('helper', 'return work(input);')}function extra() { return 1; }\n`,
      'functions/silent.ts': `import { work } from '../shared/work';\nexport function silent() { return work(); }\n`,
      'shared/work.ts': 'export function work(_?: unknown) { return 1; }\n',
      'local/stack.ts': 'export function stack(_: unknown) { return 1; }\n',
    });
    expect(functionsOnlyRegisterAndDelegate(house).sort()).toEqual([
      'functions/fat.ts: fat has 9 statements (at most 8: delegate to shared/)',
      'functions/helper.ts declares extra beside its handler',
      'functions/reaches.ts imports ../local/stack',
      'functions/reaches.ts imports node:fs',
      'functions/silent.ts registers no function',
    ]);
  });

  it('finds shared/ importing the runtime, durable-functions or local/', () => {
    const house = houseOf({
      'shared/a.ts': "import type { InvocationContext } from '@azure/functions';\nexport type A = InvocationContext;\n",
      'shared/b.ts': "import * as df from 'durable-functions';\nexport const b = df;\n",
      'shared/c.ts': "import { stack } from '../local/stack';\nexport const c = stack;\n",
      'shared/d.ts': "import { readFileSync } from 'node:fs';\nimport { c } from './c';\nexport const d = [readFileSync, c];\n",
      'local/stack.ts': 'export const stack = 1;\n',
    });
    expect(sharedKnowsNoRuntime(house).sort()).toEqual([
      'shared/a.ts imports @azure/functions',
      'shared/b.ts imports durable-functions',
      'shared/c.ts imports local/stack.ts',
    ]);
  });

  it('finds an orchestrator that loads, however indirectly, a module doing I/O or reading the clock', () => {
    const orchestrator = (name: string, from: string) =>
      `import * as df from 'durable-functions';\nimport { decide } from '${from}';\nexport const ${name} = function* () { yield decide(); };\ndf.app.orchestration('${name}', ${name});\n`;
    const house = houseOf({
      'functions/pure.ts': orchestrator('pure', '../shared/decide'),
      'functions/storage.ts': orchestrator('storage', '../shared/viaStore'),
      'functions/clock.ts': orchestrator('clock', '../shared/clock'),
      'functions/typed.ts': `import * as df from 'durable-functions';\nimport type { Store } from '../shared/store';\nexport const typed = function* (s: Store) { yield s; };\ndf.app.orchestration('typed', typed);\n`,
      'shared/decide.ts': "import { Names } from './names';\nexport function decide() { return Names.a; }\n",
      'shared/names.ts': "export const Names = { a: 'a' };\n",
      'shared/viaStore.ts': "import { store } from './store';\nexport function decide() { return store; }\n",
      'shared/store.ts': "import { TableClient } from '@azure/data-tables';\nexport const store = TableClient;\nexport type Store = typeof store;\n",
      'shared/clock.ts': 'export function decide() { return Date.now() + Math.random(); }\n',
    });
    expect(orchestratorsDoNoIo(house).sort()).toEqual([
      'functions/clock.ts loads shared/clock.ts, which calls Date.now()',
      'functions/clock.ts loads shared/clock.ts, which calls Math.random()',
      'functions/storage.ts loads shared/store.ts, which imports @azure/data-tables',
    ]);
  });

  it('finds import cycles, type imports included', () => {
    const house = houseOf({
      'shared/a.ts': "import { b } from './b';\nexport const a = b;\n",
      'shared/b.ts': "import type { C } from './c';\nexport const b: C = 1;\n",
      'shared/c.ts': "import { a } from './a';\nexport type C = typeof a;\n",
      'shared/d.ts': "import { a } from './a';\nexport const d = a;\n",
      'shared/e.ts': "import { e as self } from './e';\nexport const e = self;\n",
    });
    expect(importCycles(house)).toEqual([['shared/a.ts', 'shared/b.ts', 'shared/c.ts'], ['shared/e.ts']]);
  });

  it('finds a shared/ folder importing one above it, and a file in no folder', () => {
    const house = houseOf({
      'shared/top/root.ts': "import { low } from '../low/low';\nexport const root = low;\n",
      'shared/low/low.ts': "import type { Root } from '../top/types';\nexport const low: Root = 1;\n",
      'shared/top/types.ts': 'export type Root = number;\n',
      'shared/loose.ts': 'export const loose = 1;\n',
    });
    expect(sharedLayersPointDown(house, ['top', 'low']).sort()).toEqual([
      'shared/loose.ts is in no folder of shared/ (top, low)',
      'shared/low/low.ts (low) imports shared/top/types.ts (top), a folder above it',
    ]);
  });
});

describe('the house keeps its rules', () => {
  const house = readHouse(PROJECT_ROOT);

  it('reads the house (functions/, shared/, local/, bench/, drill/)', () => {
    expect(Object.keys(house).filter((f) => f.startsWith('functions/')).length).toBeGreaterThan(10);
    expect(Object.keys(house).filter((f) => f.startsWith('shared/')).length).toBeGreaterThan(50);
  });

  it('functions/ files only register and delegate', () => {
    expect(functionsOnlyRegisterAndDelegate(house)).toEqual([]);
  });

  it('shared/ imports neither @azure/functions, durable-functions nor local/', () => {
    expect(sharedKnowsNoRuntime(house)).toEqual([]);
  });

  it('the orchestrators load nothing that does I/O or reads the clock', () => {
    expect(orchestratorsDoNoIo(house)).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(importCycles(house)).toEqual([]);
  });

  it('the folders of shared/ import only themselves and the folders below them', () => {
    expect(sharedLayersPointDown(house)).toEqual([]);
  });
});
