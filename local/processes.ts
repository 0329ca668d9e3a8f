/**
 * Child processes for the tests and drills that run every part in a process
 * of its own, as in production: the emulators (which print one JSON line once
 * listening) and `o2-archiver` itself, which the drills kill with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { findProjectRoot } from './sample';

/** The compiled entry points the child processes run. */
export const PROCESS_SCRIPTS = {
  cli: path.join(findProjectRoot(__dirname), 'bin/o2-archiver.js'),
  graphEmulator: path.join(findProjectRoot(__dirname), 'dist/local/emulators/graph/main.js'),
  teleMessageEmulator: path.join(findProjectRoot(__dirname), 'dist/local/emulators/telemessage/main.js'),
};

/** Starts a service's main as a child process and resolves with the JSON line it prints once listening. */
export function startServiceProcess<T>(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; info: T }> {
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} did not start within 60 s: ${err.slice(-500)}`));
    }, 60_000);
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.trim().startsWith('{'));
      if (line && out.includes('\n')) {
        clearTimeout(timer);
        resolve({ child, info: JSON.parse(line) as T });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${path.basename(script)} exited with ${code}: ${err.slice(-500)}`));
    });
  });
}

export interface CliProcess {
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr: () => string;
  /** Its exit code (null when killed by a signal). */
  exit: Promise<number | null>;
}

/** Starts `o2-archiver <args>` as a child process in `cwd` (no .env there) with exactly `env`. */
export function startCliProcess(args: string[], env: NodeJS.ProcessEnv, cwd: string): CliProcess {
  const child = spawn(process.execPath, [PROCESS_SCRIPTS.cli, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout!.resume();
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exit };
}

/** Waits for a child's exit, killing it if it takes longer than `ms`. */
export async function exitWithin(run: CliProcess, ms: number): Promise<number | null> {
  const timer = setTimeout(() => run.child.kill('SIGKILL'), ms);
  try {
    return await run.exit;
  } finally {
    clearTimeout(timer);
  }
}

/** Stops a child with SIGTERM (SIGKILL once `graceInMs` have passed) and resolves when it has exited. */
export function stopChild(child: ChildProcess, graceInMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), graceInMs).unref();
  });
}

/** Polls `check` every 100 ms until it is true or `ms` have passed. */
export async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return check();
}
