/**
 * The deployment package, built the way the README publishes it
 * (`npm run package`: scripts/package.js), holds the compiled app and its
 * production dependencies only, and every function entry point loads from
 * it alone, with the Functions host's @azure/functions-core stood in for as
 * local/driver/functionsCore.ts does.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

/** Every file under `dir`, relative to it, with `/` separators. */
function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full, base));
    else out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out;
}

describe('the deployment package (npm run package)', () => {
  // Outside the project, so that nothing resolves from the project's own node_modules.
  const work = mkdtempSync(path.join(os.tmpdir(), 'o2-package-'));
  const pkg = path.join(work, 'package');
  let appFiles: string[] = [];

  beforeAll(() => {
    const built = spawnSync(process.execPath, [path.join(root, 'scripts/package.js'), '--out', pkg], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, npm_config_loglevel: 'error' },
      timeout: 280_000,
    });
    if (built.status !== 0) throw new Error(`scripts/package.js failed (${built.status}):\n${built.stdout}\n${built.stderr}`);
    appFiles = listFiles(pkg).filter((f) => !f.startsWith('node_modules/'));
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('holds the compiled functions and shared code, host.json and a package.json whose main finds them', () => {
    const manifest = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest.main).toBe('dist/functions/*.js');
    expect(manifest.scripts).toBeUndefined();
    expect(existsSync(path.join(pkg, 'host.json'))).toBe(true);
    const sources = readdirSync(path.join(root, 'functions')).filter((f) => f.endsWith('.ts'));
    const compiled = readdirSync(path.join(pkg, 'dist/functions')).filter((f) => f.endsWith('.js'));
    expect(compiled.sort()).toEqual(sources.map((f) => f.replace(/\.ts$/, '.js')).sort());
    // The item schema the validator imports travels with the compiled code.
    expect(appFiles).toContain('dist/shared/telemessage-item.schema.json');
  });

  it('holds no TypeScript source, test, local tool, emulator or local settings', () => {
    const offending = appFiles.filter(
      (f) =>
        (f.endsWith('.ts') && !f.endsWith('.d.ts')) ||
        /^(test|local|bench|drill|fixtures|docs|infra|scripts|functions|shared)\//.test(f) ||
        /^dist\/(local|bench|drill|test)\//.test(f) ||
        /(^|\/)local\.settings(\.sample)?\.json$/.test(f) ||
        /(^|\/)\.env$/.test(f) ||
        /^tsconfig.*\.json$/.test(f) ||
        f.endsWith('.js.map'),
    );
    expect(offending).toEqual([]);
    expect(appFiles.every((f) => f.startsWith('dist/') || ['host.json', 'package.json', 'package-lock.json', '.funcignore'].includes(f))).toBe(true);
  });

  it('holds no dev dependency, nor anything only a dev dependency needs', () => {
    const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([name, meta]) => name.startsWith('node_modules/') && meta.dev === true)
      .map(([name]) => name);
    expect(devOnly.length).toBeGreaterThan(100);
    const present = devOnly.filter((name) => existsSync(path.join(pkg, name)));
    expect(present).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    for (const name of Object.keys(manifest.devDependencies)) expect(existsSync(path.join(pkg, 'node_modules', name))).toBe(false);
    for (const name of ['@azure/functions', 'durable-functions', '@azure/storage-blob', 'zod']) {
      expect(statSync(path.join(pkg, 'node_modules', name, 'package.json')).isFile()).toBe(true);
    }
  });

  it('loads every function entry point from the package alone and registers each function', () => {
    // The Functions host provides @azure/functions-core; stand in for it as the local driver does.
    const core = path.join(root, 'dist/local/driver/functionsCore.js');
    expect(existsSync(core)).toBe(true);
    const hook = path.join(work, 'functions-core-hook.js');
    writeFileSync(
      hook,
      `const Module = require('node:module');
const original = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@azure/functions-core') return ${JSON.stringify(core)};
  return original.call(this, request, ...rest);
};
`,
    );
    const loader = path.join(work, 'load-functions.js');
    writeFileSync(
      loader,
      `const path = require('node:path');
const fs = require('node:fs');
const dir = path.resolve('dist/functions');
const loaded = [];
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.js'))) {
  require(path.join(dir, file));
  loaded.push(file);
}
const core = require('@azure/functions-core');
const registered = [...core.registeredFunctions.values()].map((f) => ({ name: f.name, trigger: f.triggerType }));
process.stdout.write(JSON.stringify({ loaded, registered }));
`,
    );
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    const result = spawnSync(process.execPath, ['--require', hook, loader], { cwd: pkg, encoding: 'utf8', env, timeout: 60_000 });
    if (result.status !== 0) throw new Error(`loading the functions failed:\n${result.stderr}`);
    const { loaded, registered } = JSON.parse(result.stdout) as { loaded: string[]; registered: { name: string; trigger: string }[] };
    const sources = readdirSync(path.join(root, 'functions')).filter((f) => f.endsWith('.ts'));
    expect(loaded).toHaveLength(sources.length);
    // One registration per file, each with a trigger.
    expect(registered).toHaveLength(sources.length);
    expect(registered.every((f) => /Trigger$/.test(f.trigger))).toBe(true);
    expect(registered.map((f) => f.trigger)).toEqual(expect.arrayContaining(['orchestrationTrigger', 'activityTrigger', 'timerTrigger', 'httpTrigger']));
  });
});
