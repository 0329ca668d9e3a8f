/**
 * Starts Azurite (pinned to 3.35.0, the last to run on Node 20) as a child
 * process on free ports and hands back a connection string for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export interface AzuriteOptions {
  /** Where Azurite keeps its data; persists across restarts of Azurite. */
  location: string;
  /** Fixed ports (to reopen the same data at the same address); 0 = any free port. */
  ports?: { blob: number; queue: number; table: number };
  timeoutInMs?: number;
  /**
   * Keep everything in memory (Azurite's --inMemoryPersistence) instead of
   * under `location`: for the benchmarks, where Azurite's own persistence (it
   * rewrites its whole metadata database to disk every five seconds) would be
   * measured instead of the connector. Nothing survives a restart.
   */
  inMemory?: boolean;
}

export interface AzuriteHandle {
  connectionString: string;
  ports: { blob: number; queue: number; table: number };
  pid: number;
  stop(): Promise<void>;
}

const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The connection string of Azurite's development account on the given ports. */
export function azuriteConnectionString(ports: { blob: number; queue: number; table: number }): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${ACCOUNT_KEY};` +
    `BlobEndpoint=http://127.0.0.1:${ports.blob}/devstoreaccount1;` +
    `QueueEndpoint=http://127.0.0.1:${ports.queue}/devstoreaccount1;` +
    `TableEndpoint=http://127.0.0.1:${ports.table}/devstoreaccount1;`
  );
}

/** Starts Azurite and resolves once all three services listen. */
export async function startAzurite(options: AzuriteOptions): Promise<AzuriteHandle> {
  if (!options.inMemory) mkdirSync(options.location, { recursive: true });
  const bin = require.resolve('azurite/dist/src/azurite.js');
  const ports = options.ports ?? { blob: 0, queue: 0, table: 0 };
  const child = spawn(
    process.execPath,
    [
      bin,
      ...(options.inMemory ? ['--inMemoryPersistence'] : ['--location', options.location]),
      '--blobHost', '127.0.0.1', '--queueHost', '127.0.0.1', '--tableHost', '127.0.0.1',
      '--blobPort', String(ports.blob), '--queuePort', String(ports.queue), '--tablePort', String(ports.table),
      '--skipApiVersionCheck', '--disableTelemetry', '--loose', '--silent',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const found: Partial<Record<'blob' | 'queue' | 'table', number>> = {};
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`Azurite did not start within ${options.timeoutInMs ?? 30000} ms: ${output.slice(-500)}`));
    }, options.timeoutInMs ?? 30000);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (found.blob && found.queue && found.table) return;
      output += chunk.toString();
      for (const m of output.matchAll(/Azurite (Blob|Queue|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/g)) {
        found[m[1].toLowerCase() as 'blob' | 'queue' | 'table'] = Number(m[2]);
      }
      if (found.blob && found.queue && found.table) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${code}: ${output.slice(-500)}`));
    });
  });
  child.removeAllListeners('exit');
  const actual = { blob: found.blob!, queue: found.queue!, table: found.table! };
  return {
    connectionString: azuriteConnectionString(actual),
    ports: actual,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
