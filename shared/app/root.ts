/**
 * The composition root: the one place that reads the settings (once per
 * process) and builds every dependency from them: the activities'
 * (`activities`), and the host of the HTTP and timer triggers (`appHost`),
 * over one storage infrastructure. Real clients pointed at Azure and Graph in
 * production, at Azurite and the emulators locally; the domain modules take
 * option bags in their own terms, and only this module turns settings into
 * them. The function entry points ask for what they need here.
 */
import type { Readable } from 'node:stream';
import { readSettings, type Settings } from '../platform/config';
import { createActivities, type Activities, type ActivityDependencies, type ActivityLog, type BlobPort, type RunQueues, type StageQueues } from '../activities';
import { ContainerNames, StageOrder, TableNames, poisonQueueName, type StageName } from '../platform/names';
import { StageQueue, runQueueName, type StageQueueOptions } from '../platform/queues';
import { RunStore } from '../run/runs';
import { createStorageClients, type StorageClients } from '../platform/storage';
import { createStagingStore } from '../stages/staging/store';
import { teleMessageSourceFromSettings, validateRecord } from '../stages/source';
import { convertItem } from '../stages/convert';
import { createMappingStore, createMailboxResolver } from '../stages/mapping';
import { createGraphClient, createGraphDirectory } from '../platform/graph';
import { createMailboxImporter, type MailboxImporterOptions } from '../stages/import';
import { createLedger } from '../stages/import/ledger';
import { poisonQueueDepths } from '../run/housekeeping';
import { watermarkStoreOf } from '../run/watermark';
import { durableRunStarter, type AppHost, type AppRunStarter, type DurableClientLike } from '../http/host';
import { createRetentionMarker } from '../stages/staging/retention';
import type { ArchiveSource, MailboxImporter, UserDirectory } from '../model/stages';
import { isClaimCheck } from '../run/claimChecks';

export interface Infrastructure {
  settings: Settings;
  storage: StorageClients;
  queues: RunQueues;
  runs: RunStore;
  blobs: BlobPort;
}

/** Storage-side plumbing shared by activities, starters and the CLI. */
export function createInfrastructure(settings: Settings): Infrastructure {
  const storage = createStorageClients(settings);
  const queues = createRunQueues(storage, { visibilityTimeoutInSeconds: settings.QUEUE_VISIBILITY_TIMEOUT_SECONDS, maxDequeueCount: settings.MAX_DEQUEUE_COUNT });
  const runs = new RunStore({ runs: storage.table(TableNames.runs), items: storage.table(TableNames.runItems), units: storage.table(TableNames.runUnits) });
  const blobs: BlobPort = {
    async putText(container, name, text, contentType, options = {}) {
      const body = Buffer.from(text, 'utf8');
      try {
        await storage.container(ContainerNames[container]).getBlockBlobClient(name).upload(body, body.length, {
          blobHTTPHeaders: { blobContentType: contentType },
          ...(options.ifAbsent ? { conditions: { ifNoneMatch: '*' } } : {}),
        });
      } catch (error) {
        // Written already: with ifAbsent, the first version stands.
        if (!(options.ifAbsent && (error as { statusCode?: number }).statusCode === 409)) throw error;
      }
    },
    async getText(container, name) {
      return (await storage.container(ContainerNames[container]).getBlockBlobClient(name).downloadToBuffer()).toString('utf8');
    },
  };
  return { settings, storage, queues, runs, blobs };
}

/** The stage queues of each run over the storage account (a run's queues are made at its begin, removed at its finish). */
export function createRunQueues(storage: StorageClients, options: StageQueueOptions): RunQueues {
  const byRun = new Map<string, StageQueues>();
  const of = (runId: string): StageQueues => {
    let queues = byRun.get(runId);
    if (!queues) {
      const stageQueue = <T>(stage: StageName) =>
        new StageQueue<T>(storage.queue(runQueueName(stage, runId)), storage.queue(poisonQueueName(stage)), { ...options, accepts: (body) => isClaimCheck(stage, body) });
      queues = { fetch: stageQueue('fetch'), stage: stageQueue('stage'), convert: stageQueue('convert'), map: stageQueue('map'), import: stageQueue('import') };
      byRun.set(runId, queues);
    }
    return queues;
  };
  return {
    of,
    async ensure(runId) {
      await Promise.all(StageOrder.map((stage) => of(runId)[stage].ensure()));
    },
    async remove(runId) {
      await Promise.all(StageOrder.map((stage) => of(runId)[stage].queue.deleteIfExists()));
      byRun.delete(runId);
    },
  };
}

/** Creates every shared queue, container and table the app uses (idempotent); a run's own queues come with the run. */
export async function ensureInfrastructure(infra: Infrastructure): Promise<void> {
  await Promise.all([
    ...StageOrder.map((stage) => infra.storage.queue(poisonQueueName(stage)).createIfNotExists()),
    ...Object.values(ContainerNames).map((name) => infra.storage.container(name).createIfNotExists()),
    infra.runs.ensure(),
  ]);
}

/** The production dependencies of the activities, from settings. */
export function createActivityDependencies(settings: Settings, infra: Infrastructure = createInfrastructure(settings)): Omit<ActivityDependencies, 'log'> {
  const staging = createStagingStore(infra.storage.container(ContainerNames.staging));
  let source: ArchiveSource | undefined;
  let directory: UserDirectory | undefined;
  let importer: MailboxImporter | undefined;
  let graph: ReturnType<typeof createGraphClient> | undefined;
  const graphClient = () => (graph ??= createGraphClient(settings));
  const mapping = createMappingStore(infra.storage.container(ContainerNames.mapping), { defaultRegion: settings.DEFAULT_PHONE_REGION });
  let ensured: Promise<void> | undefined;
  return {
    settings,
    ensureStorage: () => (ensured ??= ensureInfrastructure(infra).catch((e) => {
      ensured = undefined;
      throw e;
    })),
    queues: infra.queues,
    runs: infra.runs,
    blobs: infra.blobs,
    staging,
    retention: createRetentionMarker({ staging: infra.storage.container(ContainerNames.staging), runs: infra.storage.container(ContainerNames.runs) }),
    poisonDepths: () => poisonQueueDepths(infra.storage),
    source: () => (source ??= teleMessageSourceFromSettings(settings)),
    validateRecord,
    convertItem: (staged, openMedia: (mediaId: string) => Promise<Readable>) =>
      convertItem(staged, openMedia, {
        maxItemBytes: settings.MAX_ITEM_BYTES,
        displayTimeZone: settings.DISPLAY_TIME_ZONE,
        defaultRegion: settings.DEFAULT_PHONE_REGION,
      }),
    router: async () =>
      createMailboxResolver({
        directory: (directory ??= createGraphDirectory(graphClient())),
        mapping: await mapping.current(),
        defaultRegion: settings.DEFAULT_PHONE_REGION,
      }),
    importer: () =>
      (importer ??= createMailboxImporter({
        graph: graphClient(),
        ledger: createLedger(infra.storage.table(TableNames.ledger)),
        staging,
        options: importerOptionsFromSettings(settings),
      })),
  };
}

/** The importer's options as the settings give them. */
export function importerOptionsFromSettings(settings: Settings): MailboxImporterOptions {
  const timeScale = settings.RETRY_TIME_SCALE;
  return {
    folderName: settings.ARCHIVE_FOLDER_NAME,
    importMode: settings.GRAPH_IMPORT_MODE,
    maxConcurrentPerMailbox: settings.GRAPH_MAX_CONCURRENT_PER_MAILBOX,
    timeScale,
    leaseInMs: settings.IMPORT_LEASE_SECONDS * 1000 * timeScale,
    lookupSettleInMs: settings.GRAPH_LOOKUP_SETTLE_SECONDS * 1000 * timeScale,
  };
}

// ---- what this process runs on: settings read once, one infrastructure, the activities' dependencies, the triggers' host

let settingsInForce: Settings | undefined;
let infraInForce: Infrastructure | undefined;
let shared: Omit<ActivityDependencies, 'log'> | undefined;
let hostInForce: AppHost | undefined;

/** The app's settings, read from the environment and validated once per process (or the ones put in place). */
export function appSettings(): Settings {
  return (settingsInForce ??= readSettings());
}

/** The storage plumbing of this process, built once over the settings. */
function infrastructure(): Infrastructure {
  return (infraInForce ??= createInfrastructure(appSettings()));
}

/** Uses these settings instead of the environment's (the local stack and tests). */
export function useSettings(settings: Settings): void {
  settingsInForce = settings;
  infraInForce = undefined;
  shared = undefined;
}

/** Uses these dependencies as they are (tests that wrap a client to make it fail). */
export function useActivityDependencies(dependencies: Omit<ActivityDependencies, 'log'>): void {
  settingsInForce = dependencies.settings;
  infraInForce = undefined;
  shared = dependencies;
}

/** The activities, over dependencies built once per process, logging to `log`. */
export function activities(log?: ActivityLog): Activities {
  shared ??= createActivityDependencies(appSettings(), infrastructure());
  return createActivities({ ...shared, log });
}

/** Puts a host in place for every trigger (the local server and tests); `undefined` goes back to Azure's. */
export function useAppHost(host: AppHost | undefined): void {
  hostInForce = host;
}

/** Builds a host over an infrastructure and a starter. */
export function createAppHost(infra: Infrastructure, starter: AppRunStarter, now: () => Date = () => new Date()): AppHost {
  return {
    settings: infra.settings,
    starter,
    runs: infra.runs,
    blobs: infra.blobs,
    mapping: createMappingStore(infra.storage.container(ContainerNames.mapping), { defaultRegion: infra.settings.DEFAULT_PHONE_REGION }),
    watermarks: watermarkStoreOf(infra.runs, now),
    poisonDepths: () => poisonQueueDepths(infra.storage),
    now,
  };
}

/** The host of the HTTP and timer triggers for this invocation: the one put in place, else Azure's over the invocation's Durable client. */
export function appHost(durableClient: () => DurableClientLike): AppHost {
  if (hostInForce) return hostInForce;
  // Storage clients are built once per process; the Durable client belongs to the invocation.
  const infra = infrastructure();
  // Built on first use, so triggers that never start a run need no Durable client binding.
  let starter: AppRunStarter | undefined;
  const durable = () => (starter ??= durableRunStarter(durableClient(), infra.settings));
  const host = createAppHost(infra, {
    startRun: (request) => durable().startRun(request),
    getInstance: (instanceId) => durable().getInstance(instanceId),
  });
  // Only the housekeeping timer calls it, and only it binds a Durable client for it.
  host.history = {
    purgeInstanceHistoryBy(filter) {
      const client = durableClient();
      if (!client.purgeInstanceHistoryBy) throw new TypeError('this Durable client cannot purge instance history');
      return client.purgeInstanceHistoryBy(filter);
    },
  };
  return host;
}
