/**
 * The embedded local stack: Azurite, the TeleMessage emulator with the sample
 * day, and the Graph emulator with the sample tenant, on free ports, and the
 * settings that point the connector at them.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { readSettings, type Settings } from '../shared/platform/config';
import { startAzurite, type AzuriteHandle } from './azurite';
import { startTeleMessageEmulator, type TeleMessageEmulator } from './emulators/telemessage';
import { startGraphEmulator, type GraphEmulator } from './emulators/graph/server';
import { sampleDay, sampleTenant, type SampleDay, type SampleDayOptions } from './sample';

export interface LocalStackOptions {
  /** Where Azurite and the emulators keep their state (`.local` for `npm start`). */
  stateDir: string;
  /** The environment whose settings (fault rates, seed, tuning) pass through. */
  env?: NodeJS.ProcessEnv;
  sample?: SampleDayOptions;
  /** Reopen Azurite on these ports (a restarted stack for a resumed run). */
  azuritePorts?: AzuriteHandle['ports'];
  graphPort?: number;
  telemessagePort?: number;
}

export interface LocalStack {
  settings: Settings;
  /** The settings as environment variables, for a child process. */
  env: Record<string, string>;
  azurite: AzuriteHandle;
  telemessage: TeleMessageEmulator;
  graph: GraphEmulator;
  sample: SampleDay;
  stop(): Promise<void>;
}

const TM_USERNAME = 'o2-archiver-admin';
const TM_PASSWORD = 'local-emulator-password';
const GRAPH_TOKEN = 'local-emulator-token';

/** Starts Azurite and both emulators with the sample day and tenant. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const env = options.env ?? process.env;
  const base = readSettings({ ...env, AzureWebJobsStorage: 'UseDevelopmentStorage=true', GRAPH_BASE_URL: undefined, GRAPH_DEV_TOKEN: undefined, GRAPH_CA_CERT_PATH: undefined });
  mkdirSync(options.stateDir, { recursive: true });
  const sample = sampleDay({ seed: base.EMULATOR_SEED, maxItemBytes: base.MAX_ITEM_BYTES, ...options.sample });
  const started: { stop(): Promise<void> }[] = [];
  try {
    const azurite = await startAzurite({ location: path.join(options.stateDir, 'azurite'), ports: options.azuritePorts });
    started.push(azurite);
    const telemessage = await startTeleMessageEmulator({
      items: sample.records,
      media: sample.media,
      username: TM_USERNAME,
      password: TM_PASSWORD,
      faultRate: base.TM_EMULATOR_FAULT_RATE,
      seed: base.EMULATOR_SEED,
      duplicateAcrossPages: true,
      port: options.telemessagePort,
    });
    started.push(telemessage);
    const graph = await startGraphEmulator({
      users: sampleTenant().map((u) => ({
        displayName: u.displayName, userPrincipalName: u.userPrincipalName, mail: u.mail, proxyAddresses: u.proxyAddresses,
      })),
      token: GRAPH_TOKEN,
      stateDir: options.stateDir,
      faultRate: base.GRAPH_EMULATOR_FAULT_RATE,
      seed: base.EMULATOR_SEED,
      port: options.graphPort,
    });
    started.push(graph);
    const stackEnv: Record<string, string> = {
      AzureWebJobsStorage: azurite.connectionString,
      TELEMESSAGE_BASE_URL: telemessage.url,
      TELEMESSAGE_USERNAME: TM_USERNAME,
      // A password given in the environment wins, so a wrong one can be tried against the emulator.
      TELEMESSAGE_PASSWORD: env.TELEMESSAGE_PASSWORD ?? TM_PASSWORD,
      GRAPH_BASE_URL: graph.url,
      GRAPH_DEV_TOKEN: GRAPH_TOKEN,
      ...(graph.caCertPath ? { GRAPH_CA_CERT_PATH: graph.caCertPath } : {}),
    };
    const settings = readSettings({ ...env, ...stackEnv });
    return {
      settings,
      env: stackEnv,
      azurite,
      telemessage,
      graph,
      sample,
      stop: async () => {
        for (const s of started.reverse()) await s.stop().catch(() => undefined);
      },
    };
  } catch (e) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw e;
  }
}
