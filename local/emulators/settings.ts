/**
 * The emulators' settings from the environment, read through the app's
 * config schema (shared/platform/config.ts owns EMULATOR_SEED and the fault
 * rates, with their defaults), so that no default is written twice. Only the
 * emulators' process entry points read them; the emulators take options.
 */
import { readSettings } from '../../shared/platform/config';

export interface EmulatorSettings {
  seed: string;
  teleMessageFaultRate: number;
  graphFaultRate: number;
  /** GRAPH_DEV_TOKEN as given (the app accepts it only for a local GRAPH_BASE_URL; the emulator is that URL). */
  graphToken?: string;
}

/** Reads the emulators' settings from `env`; the app's other settings play no part. */
export function emulatorSettings(env: NodeJS.ProcessEnv = process.env): EmulatorSettings {
  const settings = readSettings({
    EMULATOR_SEED: env.EMULATOR_SEED,
    TM_EMULATOR_FAULT_RATE: env.TM_EMULATOR_FAULT_RATE,
    GRAPH_EMULATOR_FAULT_RATE: env.GRAPH_EMULATOR_FAULT_RATE,
  });
  return {
    seed: settings.EMULATOR_SEED,
    teleMessageFaultRate: settings.TM_EMULATOR_FAULT_RATE,
    graphFaultRate: settings.GRAPH_EMULATOR_FAULT_RATE,
    graphToken: env.GRAPH_DEV_TOKEN || undefined,
  };
}
