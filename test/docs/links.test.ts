/**
 * The repository stands on its own: the README and the docs refer only to
 * files it holds (a clone has no `../shared/`), and it carries its own copy of
 * every contract it implements under docs/contracts/.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../support/stack';

// The project's own prose; docs/contracts/ holds verbatim copies and is checked for presence only.
const DOCS = ['README.md', 'infra/README.md', 'fixtures/README.md', 'local/emulators/graph/README.md',
  ...readdirSync(path.join(PROJECT_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

// Top-level folders of the repository: a code span starting with one of them names a file or folder here.
const TOP_LEVEL = ['shared/', 'local/', 'functions/', 'docs/', 'fixtures/', 'infra/', 'test/', 'bench/', 'bin/'];

const CONTRACTS = ['README.md', 'archived-email.md', 'cli.md', 'run-report.md', 'settings.md', 'telemessage-archive-api.md',
  'telemessage-item.schema.json', 'user-mapping-csv.md'];

/** Markdown link targets and code spans that name a path of the repository (relative or from the root). */
function referencedPaths(file: string): string[] {
  const text = readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) if (!/^([a-z]+:|#)/i.test(m[1])) found.push(m[1]);
  for (const m of text.matchAll(/`([^`\s]+)`/g)) {
    const ref = m[1];
    if (ref.startsWith('../') || ref.startsWith('./') || TOP_LEVEL.some((top) => ref.startsWith(top))) found.push(ref);
  }
  return found;
}

/** True when `ref` (stripped of an anchor, a glob or a `<placeholder>` tail) names something the repository holds. */
function exists(file: string, ref: string): boolean {
  const clean = ref.split('#')[0].replace(/[*<].*$/, '').replace(/[.,;:)]+$/, '');
  return [path.join(PROJECT_ROOT, path.dirname(file), clean), path.join(PROJECT_ROOT, clean)].some((p) => existsSync(p));
}

describe('the repository stands on its own', () => {
  it('names no file outside itself (no ../shared/…) in the README and the docs', () => {
    const outside = DOCS.flatMap((file) => {
      const text = readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
      return [...text.matchAll(/\.\.\/shared\b[^\s`)]*/g)].map((m) => `${file}: ${m[0]}`);
    });
    expect(outside).toEqual([]);
  });

  it('refers only to files and folders it holds', () => {
    const missing = DOCS.flatMap((file) => referencedPaths(file).filter((ref) => !exists(file, ref)).map((ref) => `${file}: ${ref}`));
    expect(missing).toEqual([]);
  });

  it('carries a copy of every contract it implements under docs/contracts/', () => {
    for (const name of CONTRACTS) expect([name, existsSync(path.join(PROJECT_ROOT, 'docs/contracts', name))]).toEqual([name, true]);
    // The contracts' own index lists exactly these files.
    const index = readFileSync(path.join(PROJECT_ROOT, 'docs/contracts/README.md'), 'utf8');
    for (const name of CONTRACTS.filter((n) => n !== 'README.md')) expect(index).toContain(name);
  });
});
