/**
 * `o2-archiver serve [--port N]`: the HTTP API and dashboard on this machine,
 * with the same function handlers as in Azure. Runs started over HTTP are
 * driven by the local durable driver in this process. Keys are demanded as
 * in Azure: LOCAL_FUNCTION_KEY / LOCAL_ADMIN_KEY, or random ones written to
 * .local/serve-keys.json. Without AzureWebJobsStorage it brings up the
 * embedded local stack (Azurite and both emulators, state in .local/).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSettings, type Settings } from '../../../shared/platform/config';
import { createAppHost, useAppHost } from '../../../shared/app/root';
import { ContainerNames } from '../../../shared/platform/names';
import { createMappingStore } from '../../../shared/stages/mapping';
import { createLocalRunner, type LocalRunner } from '../../runner';
import { loadFunctionApp } from '../../driver/functionApp';
import { startLocalHttpServer, type LocalHttpKeys, type LocalHttpServer } from '../../http/server';
import { startLocalStack, type LocalStack } from '../../stack';
import { findProjectRoot } from '../../sample';
import { allowOptions, optionalOption, usage } from '../args';
import type { Command } from '../command';

export interface ServeOptions {
  settings: Settings;
  port?: number;
  /** Defaults to LOCAL_FUNCTION_KEY / LOCAL_ADMIN_KEY, else random keys. */
  keys?: LocalHttpKeys;
  /** A runner already made (tests); else one over `settings`. */
  runner?: LocalRunner;
  /** The clock the handlers and timer see (tests). */
  now?: () => Date;
  log?: (line: string) => void;
}

export interface ServeHandle {
  url: string;
  keys: LocalHttpKeys;
  runner: LocalRunner;
  server: LocalHttpServer;
  stop(): Promise<void>;
}

/** Starts the API and dashboard over the local runner; what `serve` runs until it is stopped. */
export async function startServe(options: ServeOptions): Promise<ServeHandle> {
  const { settings } = options;
  const keys = options.keys ?? {
    functionKey: settings.LOCAL_FUNCTION_KEY ?? randomKey(),
    adminKey: settings.LOCAL_ADMIN_KEY ?? randomKey(),
  };
  if (keys.functionKey === keys.adminKey) throw usage('LOCAL_FUNCTION_KEY and LOCAL_ADMIN_KEY must differ: the admin key alone may replace the mapping');
  const runner = options.runner ?? (await createLocalRunner({ settings, log: () => undefined }));
  useAppHost(createAppHost(runner.infra, runner, options.now));
  const server = await startLocalHttpServer({ functions: loadFunctionApp(), keys, port: options.port, log: options.log });
  return {
    url: server.url,
    keys,
    runner,
    server,
    stop: async () => {
      await server.stop();
      useAppHost(undefined);
    },
  };
}

/** `o2-archiver serve [--port N]`: serves until interrupted. */
export const serveCommand: Command = async (args, io) => {
  allowOptions(args, ['port']);
  if (args.positionals.length > 0) throw usage('serve takes no arguments, only --port');
  const portText = optionalOption(args, 'port');
  const port = portText === undefined ? 7071 : Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage(`--port must be a port number (0 to 65535), not '${portText}'`);
  let settings = readSettings();
  const root = findProjectRoot(__dirname);
  const stateDir = path.join(root, '.local');
  let stack: LocalStack | undefined;
  if (!settings.AzureWebJobsStorage && !settings.AzureWebJobsStorage__accountName) {
    io.err('AzureWebJobsStorage is not set: starting the local stack (Azurite and the emulators, state in .local/)...');
    stack = await startLocalStack({ stateDir });
    settings = stack.settings;
  }
  try {
    const runner = await createLocalRunner({ settings, log: () => undefined });
    if (stack) await uploadSampleMappingIfNone(runner, root);
    const handle = await startServe({ settings, port, runner, log: (line) => io.err(line) });
    const keyFile = settings.LOCAL_FUNCTION_KEY && settings.LOCAL_ADMIN_KEY ? undefined : writeKeys(stateDir, handle.keys);
    io.out(`o2-archiver serve: ${handle.url}/api/dashboard`);
    for (const r of handle.server.routes) io.out(`  ${r.methods.join(',').padEnd(5)} ${handle.url}${r.path}  (${r.authLevel} key)`);
    io.out(
      keyFile
        ? `keys: ${keyFile} (send one as the x-functions-key header or ?code=)`
        : 'keys: LOCAL_FUNCTION_KEY and LOCAL_ADMIN_KEY (send one as the x-functions-key header or ?code=)',
    );
    await untilInterrupted();
    io.err('stopping...');
    await handle.stop();
    return 0;
  } finally {
    await stack?.stop();
  }
};

async function uploadSampleMappingIfNone(runner: LocalRunner, root: string): Promise<void> {
  const mapping = createMappingStore(runner.infra.storage.container(ContainerNames.mapping), { defaultRegion: runner.infra.settings.DEFAULT_PHONE_REGION });
  if ((await mapping.currentCsv()) !== null) return;
  await mapping.replace(readFileSync(path.join(root, 'fixtures/mapping/telemessage-format.csv'), 'utf8'), { who: 'o2-archiver serve (sample mapping)' });
}

/** Writes generated keys to a file only the user can read, instead of printing secrets. */
function writeKeys(stateDir: string, keys: LocalHttpKeys): string {
  mkdirSync(stateDir, { recursive: true });
  const file = path.join(stateDir, 'serve-keys.json');
  writeFileSync(file, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
  return file;
}

function randomKey(): string {
  return randomBytes(24).toString('base64url');
}

function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
