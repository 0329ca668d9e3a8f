#!/usr/bin/env node
// The command line runs the compiled TypeScript (built by `npm ci` through the prepare script).
require('../dist/local/cli/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
