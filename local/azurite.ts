/**
 * Starts Azurite (pinned to 3.35.0, the last to run on Node 20) as a child
 * process on free ports and hands back a connection string for it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { stopChild, waitForOutput } from './processes';

type Service = 'blob' | 'queue' | 'table';

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
  /**
   * A MySQL/MariaDB database (`mysql://user@host:port/db`) for the blob
   * service's metadata: Azurite's SQL persistence (AZURITE_DB), whose look-ups
   * use the database's indexes where its default store scans every blob of
   * the account on each write (docs/capacity.md). The blob service then runs
   * in a process of its own, its blobs' bytes under `location`; queues and
   * tables stay as the other options say.
   */
  blobMetadataDb?: string;
}

export interface AzuriteHandle {
  connectionString: string;
  ports: { blob: number; queue: number; table: number };
  /** Azurite's processes (two when the blob service runs apart). */
  pids: number[];
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

/** How long Azurite has to stop before it is killed. */
const STOP_GRACE_MS = 5000;

const COMMON_FLAGS = ['--skipApiVersionCheck', '--disableTelemetry', '--loose', '--silent'];

interface Started {
  child: ChildProcess;
  ports: Partial<Record<Service, number>>;
}

/** Spawns one Azurite entry point and resolves with the ports of `services` once each listens. */
async function spawnAzurite(script: string, args: string[], services: Service[], env: NodeJS.ProcessEnv, timeoutInMs: number): Promise<Started> {
  const child = spawn(process.execPath, [require.resolve(`azurite/dist/src/${script}`), ...args, ...COMMON_FLAGS], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const ports = await waitForOutput(child, 'Azurite', ({ stdout }) => {
    const found: Partial<Record<Service, number>> = {};
    // azurite.js says "is successfully listening at", a single service's main.js "successfully listens on".
    for (const m of stdout.matchAll(/Azurite (Blob|Queue|Table) service (?:is successfully listening at|successfully listens on) http:\/\/[^:]+:(\d+)/g)) {
      found[m[1].toLowerCase() as Service] = Number(m[2]);
    }
    return services.every((s) => found[s]) ? found : undefined;
  }, timeoutInMs);
  return { child, ports };
}

/** Starts Azurite and resolves once all three services listen. */
export async function startAzurite(options: AzuriteOptions): Promise<AzuriteHandle> {
  if (!options.inMemory || options.blobMetadataDb) mkdirSync(options.location, { recursive: true });
  const ports = options.ports ?? { blob: 0, queue: 0, table: 0 };
  const timeoutInMs = options.timeoutInMs ?? 30000;
  const persistence = options.inMemory ? ['--inMemoryPersistence'] : ['--location', options.location];
  const started: Started[] = [];
  try {
    // azurite.js always serves blobs too; with the SQL store that one stays unused (nothing is given its port).
    started.push(await spawnAzurite('azurite.js', [
      ...persistence,
      '--blobHost', '127.0.0.1', '--queueHost', '127.0.0.1', '--tableHost', '127.0.0.1',
      '--blobPort', options.blobMetadataDb ? '0' : String(ports.blob), '--queuePort', String(ports.queue), '--tablePort', String(ports.table),
    ], ['blob', 'queue', 'table'], process.env, timeoutInMs));
    if (options.blobMetadataDb) {
      // SQL persistence keeps blob bytes on disk (it refuses --inMemoryPersistence).
      started.push(await spawnAzurite('blob/main.js', ['--location', path.join(options.location, 'sql-blob'), '--blobHost', '127.0.0.1', '--blobPort', String(ports.blob)],
        ['blob'], { ...process.env, AZURITE_DB: options.blobMetadataDb }, timeoutInMs));
    }
  } catch (e) {
    await Promise.all(started.map((s) => stopChild(s.child, STOP_GRACE_MS)));
    throw e;
  }
  const served = Object.assign({}, ...started.map((s) => s.ports)) as Record<Service, number>;
  const actual = { blob: served.blob, queue: served.queue, table: served.table };
  return {
    connectionString: azuriteConnectionString(actual),
    ports: actual,
    pids: started.map((s) => s.child.pid!),
    stop: async () => void (await Promise.all(started.map((s) => stopChild(s.child, STOP_GRACE_MS)))),
  };
}
