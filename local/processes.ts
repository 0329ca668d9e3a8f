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

/** What a child has printed so far. */
export interface ChildOutput {
  stdout: string;
  stderr: string;
}

/**
 * Resolves with what `found` makes of a starting child's output (read as it
 * accrues) once it makes anything of it; rejects with the output's tail if
 * the child exits first, or kills it and rejects once `timeoutInMs` pass.
 * Its listeners read nothing after that, and its exit listener goes: the
 * caller's own, such as a stop's, are left alone.
 */
export function waitForOutput<T>(child: ChildProcess, name: string, found: (output: ChildOutput) => T | undefined, timeoutInMs: number): Promise<T> {
  const output: ChildOutput = { stdout: '', stderr: '' };
  const tail = () => (output.stderr || output.stdout).slice(-500);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (then: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.off('exit', onExit);
      then();
    };
    const timer = setTimeout(() => settle(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutInMs} ms: ${tail()}`));
    }), timeoutInMs);
    const onExit = (code: number | null) => settle(() => reject(new Error(`${name} exited with code ${code}: ${tail()}`)));
    const reader = (stream: keyof ChildOutput) => (chunk: Buffer) => {
      if (settled) return;
      output[stream] += chunk.toString();
      const value = found(output);
      if (value !== undefined) settle(() => resolve(value));
    };
    child.stdout?.on('data', reader('stdout'));
    child.stderr?.on('data', reader('stderr'));
    child.on('exit', onExit);
  });
}

/** Starts a service's main as a child process and resolves with the JSON line it prints once listening. */
export async function startServiceProcess<T>(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; info: T }> {
  const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const info = await waitForOutput(child, path.basename(script), ({ stdout }) => {
    const line = stdout.split('\n').find((l) => l.trim().startsWith('{'));
    return line && stdout.includes('\n') ? (JSON.parse(line) as T) : undefined;
  }, 60_000);
  return { child, info };
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
