#!/usr/bin/env node
/**
 * `npm run package`: the deployment package in `.deploy/` (or `--out <dir>`),
 * which `func azure functionapp publish <app> --javascript` uploads from
 * there. It holds the compiled functions and their shared code
 * (dist/functions, dist/shared), host.json, package.json without scripts, the
 * lock file and the production dependencies only (`npm ci --omit=dev`):
 * no TypeScript source, no tests, no local tools or emulators, no local
 * settings, no dev dependency. test/deploy/package.test.ts builds it this
 * same way and loads every function from it.
 */
const { spawnSync } = require('node:child_process');
const { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function parseOut(argv) {
  const i = argv.indexOf('--out');
  if (i >= 0 && argv[i + 1]) return path.resolve(argv[i + 1]);
  return path.join(root, '.deploy');
}

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) {
    console.error(`package: ${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

function sizeOf(dir) {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = sizeOf(full);
      bytes += inner.bytes;
      files += inner.files;
    } else {
      bytes += statSync(full).size;
      files++;
    }
  }
  return { bytes, files };
}

function main() {
  const out = parseOut(process.argv.slice(2));
  if (out === root) throw new Error('--out must not be the project root');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });

  // 1. Compile functions/ and shared/ only, straight into the package (tsconfig.deploy.json).
  let tsc;
  try {
    tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    console.error('package: TypeScript is not installed; run `npm ci` (with dev dependencies) first');
    process.exit(1);
  }
  run(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.deploy.json'), '--outDir', path.join(out, 'dist')], { cwd: root });

  // 2. What the Functions host reads: host.json, and package.json ("main": dist/functions/*.js).
  cpSync(path.join(root, 'host.json'), path.join(out, 'host.json'));
  cpSync(path.join(root, 'package-lock.json'), path.join(out, 'package-lock.json'));
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  // No scripts (nothing to build or prepare in the package) and no command line (local/ is not shipped).
  delete pkg.scripts;
  delete pkg.bin;
  writeFileSync(path.join(out, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  // Everything in the folder is the app: publish it whole.
  writeFileSync(path.join(out, '.funcignore'), '# The deployment package: every file here is published (scripts/package.js).\n');

  // 3. Production dependencies only, exactly as locked.
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  run(npm, ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: out });

  if (!existsSync(path.join(out, 'dist', 'functions'))) throw new Error('package: no dist/functions was compiled');
  const { bytes, files } = sizeOf(out);
  console.log(`package: ${path.relative(process.cwd(), out) || out}: ${files} files, ${(bytes / 1024 / 1024).toFixed(1)} MB`);
  console.log(`publish: cd ${path.relative(process.cwd(), out) || out} && func azure functionapp publish <function app name> --javascript`);
}

main();
