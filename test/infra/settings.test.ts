/**
 * One agreement between code, infra and docs: the settings the app reads
 * (the zod schema of shared/platform/config.ts) are the settings infra/main.bicep
 * gives the function app (all but the local-only ones), the settings
 * local.settings.sample.json lists (all of them), and the settings
 * docs/settings.md documents. Settings the Functions runtime owns are
 * excepted, from the one list in shared/platform/config.ts that docs/settings.md
 * names too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LOCAL_ONLY_SETTINGS, RUNTIME_SETTINGS, SETTING_NAMES, isRuntimeSetting } from '../../shared/platform/config';
import { appSettingNames, declaration, objectKeys, readBicep, topLevelObjectKeys } from '../support/bicep';

const root = path.resolve(__dirname, '../..');
const localOnly = Object.keys(LOCAL_ONLY_SETTINGS);
const appSettings = new Set<string>(SETTING_NAMES);

/** What is missing from `found` and what it has that it should not, against `expected`. */
function disagreement(expected: readonly string[], found: readonly string[]): { missing: string[]; unexpected: string[] } {
  const f = new Set(found);
  const e = new Set(expected);
  return {
    missing: expected.filter((n) => !f.has(n)).sort(),
    unexpected: found.filter((n) => !e.has(n) && !isRuntimeSetting(n)).sort(),
  };
}

/** Section `title` of a markdown file: from its heading to the next heading of the same level or higher. */
function section(markdown: string, title: string): string {
  const start = markdown.indexOf(`## ${title}`);
  if (start < 0) throw new Error(`docs/settings.md has no section "${title}"`);
  const next = markdown.indexOf('\n## ', start + 3);
  return markdown.slice(start, next < 0 ? undefined : next);
}

describe('settings: code, infra/main.bicep, local.settings.sample.json and docs/settings.md agree', () => {
  const bicep = readBicep();
  const bicepSettings = appSettingNames(bicep).names;
  const sample = JSON.parse(readFileSync(path.join(root, 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
  const docs = readFileSync(path.join(root, 'docs/settings.md'), 'utf8');

  it('the local-only list and the runtime list name settings of the right kind', () => {
    for (const name of localOnly) expect(appSettings.has(name)).toBe(true);
    for (const name of SETTING_NAMES) expect(isRuntimeSetting(name)).toBe(false);
  });

  it('infra/main.bicep gives the function app every setting the app reads, except the local-only ones, and nothing else of its own', () => {
    const expected = SETTING_NAMES.filter((n) => !localOnly.includes(n));
    expect(disagreement(expected, bicepSettings)).toEqual({ missing: [], unexpected: [] });
    expect(bicepSettings.filter((n) => localOnly.includes(n))).toEqual([]);
    // The function app takes its settings from that object, one by one.
    expect(declaration(bicep, 'resource', 'functionApp')).toMatch(/appSettings: \[for setting in items\(appSettings\): \{/);
  });

  it('local.settings.sample.json lists every setting the app reads, and nothing else but the runtime\'s', () => {
    const values = Object.keys(sample.Values);
    expect(disagreement(SETTING_NAMES, values)).toEqual({ missing: [], unexpected: [] });
  });

  it('every timer schedule the host binds (%NAME%) is a setting both the template and the sample set', () => {
    const bound = new Set<string>();
    for (const file of readdirSync(path.join(root, 'functions')).filter((f) => f.endsWith('.ts'))) {
      for (const m of readFileSync(path.join(root, 'functions', file), 'utf8').matchAll(/'%([A-Za-z0-9_]+)%'/g)) bound.add(m[1]);
    }
    expect([...bound].sort()).toEqual(expect.arrayContaining(['ARCHIVE_SCHEDULE', 'HOUSEKEEPING_SCHEDULE']));
    for (const name of bound) {
      expect(appSettings.has(name)).toBe(true);
      expect(bicepSettings).toContain(name);
      expect(Object.keys(sample.Values)).toContain(name);
    }
  });

  it('docs/settings.md documents every setting, names the local-only ones and the runtime\'s as shared/platform/config.ts lists them', () => {
    const documented = [...docs.matchAll(/^\| `([A-Za-z_][A-Za-z0-9_]*)` \|/gm)].map((m) => m[1]);
    expect(disagreement(SETTING_NAMES, documented)).toEqual({ missing: [], unexpected: [] });
    const localSection = section(docs, 'Local-only settings');
    const namedLocal = [...localSection.matchAll(/^\| `([A-Za-z_][A-Za-z0-9_]*)` \|/gm)].map((m) => m[1]);
    expect(namedLocal.sort()).toEqual([...localOnly].sort());
    const runtimeSection = section(docs, "Settings that are not the app's");
    for (const name of RUNTIME_SETTINGS) expect(runtimeSection).toContain(`\`${name}\``);
  });
});

describe('the template reader (test/support/bicep.ts) finds what a change would break', () => {
  const template = `
// a comment with { braces } and key: value
var storageSettings = {
  AzureWebJobsStorage__accountName: storage.name
  nested: {
    NOT_A_SETTING: 'x'
  }
}
var graphSettings = useSecret
  ? {
      GRAPH_CLIENT_ID: id
      GRAPH_CLIENT_SECRET: '@Microsoft.KeyVault(VaultName=\${kv};SecretName=s)'
    }
  : {
      AZURE_CLIENT_ID: identity.properties.clientId
    }
param tuning object = {
  SLICE_MINUTES: '60'
}
var appSettings = union(storageSettings, graphSettings, tuning)
`;

  it('reads the keys of each object, both branches of a condition, and none nested deeper', () => {
    expect(appSettingNames(template).names).toEqual([
      'AzureWebJobsStorage__accountName', 'nested', 'GRAPH_CLIENT_ID', 'GRAPH_CLIENT_SECRET', 'AZURE_CLIENT_ID', 'SLICE_MINUTES',
    ]);
    expect(objectKeys('{\n  a: 1\n  b: { c: 2 }\n}')).toEqual(['a', 'b']);
    expect(topLevelObjectKeys("cond\n  ? {\n      x: '}'\n    }\n  : {\n      y: 1\n    }")).toEqual(['x', 'y']);
  });

  it('and the comparison names what is missing and what is extra', () => {
    expect(disagreement(['A', 'B'], ['B', 'C', 'WEBSITE_RUN_FROM_PACKAGE', 'APPLICATIONINSIGHTS_CONNECTION_STRING'])).toEqual({
      missing: ['A'],
      unexpected: ['C'],
    });
  });

  it('throws when appSettings is no longer a union of objects', () => {
    expect(() => appSettingNames('var appSettings = storageSettings\n')).toThrow(/union/);
  });
});
