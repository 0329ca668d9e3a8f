/**
 * A MariaDB server of the bench's own, for Azurite's SQL blob metadata
 * (docs/capacity.md says why): Debian's `mariadb-server` package, started on
 * a free port with a data directory under the bench's state and gone with
 * it. Each stack of the bench gets a database of its own on it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { stopChild, waitForOutput } from '../local/processes';

const run = promisify(execFile);

export interface MariaDb {
  pid: number;
  /** The server's own version string (`10.11.19-MariaDB-0+deb12u1`). */
  version: string;
  /** Creates an empty database and gives its connection string (`mysql://root@127.0.0.1:<port>/<name>`). */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

const SEARCH = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

function find(names: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...SEARCH];
  for (const name of names) for (const dir of dirs) if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  return undefined;
}

/** The programs a server needs, or why there is none. */
export function findMariaDb(): { server: string; installDb: string; client: string } | { missing: string } {
  const server = find(['mariadbd', 'mysqld']);
  const installDb = find(['mariadb-install-db', 'mysql_install_db']);
  const client = find(['mariadb', 'mysql']);
  if (!server || !installDb || !client) return { missing: 'no MariaDB server found (Debian: apt-get install mariadb-server)' };
  return { server, installDb, client };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Starts a private MariaDB under `dir`: loopback only, no grant tables (nothing but the bench reaches it). */
export async function startMariaDb(dir: string, programs: { server: string; installDb: string; client: string }): Promise<MariaDb> {
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  await run(programs.installDb, ['--no-defaults', `--datadir=${dataDir}`, '--skip-test-db', '--auth-root-authentication-method=normal', ...asRoot]);
  const { stdout } = await run(programs.server, ['--no-defaults', '--version']);
  const version = /Ver\s+(\S+)/.exec(stdout)?.[1] ?? 'unknown';
  const port = await freePort();
  const child: ChildProcess = spawn(programs.server, [
    '--no-defaults', `--datadir=${dataDir}`, `--socket=${path.join(dir, 'mysqld.sock')}`, `--pid-file=${path.join(dir, 'mysqld.pid')}`,
    '--bind-address=127.0.0.1', `--port=${port}`, '--skip-grant-tables', '--skip-log-bin',
    // Write the log at each commit, flush it once a second: the bench measures the connector, and Azurite's own tables and queues are in memory.
    '--innodb-flush-log-at-trx-commit=2', ...asRoot,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  // MariaDB writes its log to stderr.
  await waitForOutput(child, 'MariaDB', ({ stderr }) => (/ready for connections/.test(stderr) ? true : undefined), 60_000);
  return {
    pid: child.pid!,
    version,
    database: async (name) => {
      await run(programs.client, ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-e', `CREATE DATABASE \`${name}\``]);
      return `mysql://root@127.0.0.1:${port}/${name}`;
    },
    // InnoDB flushes its pages on the way down: longer than Azurite needs.
    stop: () => stopChild(child, 10_000),
  };
}
