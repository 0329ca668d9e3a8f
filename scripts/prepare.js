#!/usr/bin/env node
// `npm ci` runs this (the prepare script): it builds the TypeScript into dist/ when TypeScript is
// installed, and says why it does not otherwise. A production install (`npm ci --omit=dev`) has no
// TypeScript and needs no build: the deployment package (scripts/package.js) ships compiled code.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

let tsc;
try {
  tsc = require.resolve('typescript/bin/tsc');
} catch {
  console.log('prepare: TypeScript is not installed (a production install): nothing to build');
  process.exit(0);
}
const result = spawnSync(process.execPath, [tsc, '-p', path.join(__dirname, '..', 'tsconfig.json')], { stdio: 'inherit' });
process.exit(result.status ?? 1);
