/**
 * Loads the function app (every module under functions/) with the
 * functions-core stand-in in place, and hands back its registered functions.
 */
import Module from 'node:module';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { registeredFunctions, type RegisteredFunction } from './functionsCore';

type ResolveFilename = (request: string, ...rest: unknown[]) => string;
let installed = false;

/** Makes `require('@azure/functions-core')` resolve to the stand-in (under jest, moduleNameMapper does this). */
export function installFunctionsCore(): void {
  if (installed || process.env.JEST_WORKER_ID !== undefined) return;
  installed = true;
  const target = require.resolve('./functionsCore');
  const moduleWithResolve = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = moduleWithResolve._resolveFilename;
  moduleWithResolve._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
    if (request === '@azure/functions-core') return target;
    return original.call(this, request, ...rest);
  } as ResolveFilename;
}

/** Requires every function module once and returns the registrations by name. */
export function loadFunctionApp(): Map<string, RegisteredFunction> {
  installFunctionsCore();
  const dir = path.resolve(__dirname, '../../functions');
  const ext = path.extname(__filename);
  for (const file of readdirSync(dir)) {
    if (file.endsWith(ext) && !file.endsWith('.d.ts')) require(path.join(dir, file));
  }
  return registeredFunctions;
}
