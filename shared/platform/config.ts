/**
 * Settings (contracts/settings.md plus the project's additions in
 * docs/settings.md): read once, validated once, into one typed object. Every
 * error names the setting and says what is wrong with it.
 */
import { z } from 'zod';
import { ArchiverError } from '../model/errors';

/** The seed of the emulators and the sample day when EMULATOR_SEED is not set (the emulators take it from here too). */
export const DEFAULT_EMULATOR_SEED = 'o2-archiver';

const optionalText = z.string().trim().min(1).optional();
const url = (name: string) => z.string().trim().url({ message: `${name} must be an absolute URL` });
const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const rate = z.coerce.number().min(0).max(1);

/** The raw shape: names exactly as in settings.md. */
const SettingsSchema = z.object({
  AzureWebJobsStorage: optionalText,
  AzureWebJobsStorage__accountName: optionalText,
  TELEMESSAGE_BASE_URL: url('TELEMESSAGE_BASE_URL').optional(),
  TELEMESSAGE_USERNAME: optionalText,
  TELEMESSAGE_PASSWORD: z.string().min(1).optional(),
  GRAPH_BASE_URL: url('GRAPH_BASE_URL').default('https://graph.microsoft.com/v1.0'),
  GRAPH_TENANT_ID: optionalText,
  GRAPH_CLIENT_ID: optionalText,
  GRAPH_CLIENT_SECRET: z.string().min(1).optional(),
  GRAPH_CLIENT_CERTIFICATE_PATH: optionalText,
  AZURE_CLIENT_ID: optionalText,
  GRAPH_DEV_TOKEN: z.string().min(1).optional(),
  // Local only: a PEM file whose certificate the Graph client trusts beside the system CAs, so that
  // a local Graph emulator can serve https with a certificate made at start (the SDK sends the
  // token only over https).
  GRAPH_CA_CERT_PATH: optionalText,
  GRAPH_IMPORT_MODE: z.enum(['json', 'importMime']).default('json'),
  ARCHIVE_FOLDER_NAME: z.string().trim().min(1).max(255).default('O2 SMS and Voice Network Archiver'),
  // At most Graph's 150 MB for one attachment (an upload session), so every attachment of an accepted item has a way in.
  MAX_ITEM_BYTES: intIn(1, 150_000_000).default(10 * 1024 * 1024),
  DEFAULT_PHONE_REGION: z.string().trim().regex(/^[A-Z]{2}$/, 'must be a two-letter region such as GB').default('GB'),
  DISPLAY_TIME_ZONE: z
    .string()
    .trim()
    .default('Europe/London')
    .refine(isTimeZone, 'must be an IANA time zone such as Europe/London'),
  ARCHIVE_SCHEDULE: z
    .string()
    .trim()
    .regex(/^\S+ \S+ \S+ \S+ \S+ \S+$/, 'must be an NCRONTAB expression with six fields')
    .default('0 0 2 * * *'),
  SETTLE_HOURS: intIn(0, 24 * 14).default(48),
  // The longest window one run may cover (HTTP, CLI and the timer's catch-up): each slice is a queue message.
  MAX_WINDOW_DAYS: intIn(1, 366).default(31),
  // Housekeeping (functions/housekeepingTimer.ts): purges Durable orchestration history older than
  // HISTORY_RETENTION_DAYS (it holds participant data) and logs what the alerts watch.
  HOUSEKEEPING_SCHEDULE: z
    .string()
    .trim()
    .regex(/^\S+ \S+ \S+ \S+ \S+ \S+$/, 'must be an NCRONTAB expression with six fields')
    .default('0 30 3 * * *'),
  HISTORY_RETENTION_DAYS: intIn(1, 3650).default(30),
  TM_EMULATOR_FAULT_RATE: rate.default(0),
  GRAPH_EMULATOR_FAULT_RATE: rate.default(0),
  EMULATOR_SEED: z.string().min(1).default(DEFAULT_EMULATOR_SEED),
  // The project's additions (docs/settings.md).
  SLICE_MINUTES: intIn(5, 24 * 60).default(60),
  SOURCE_PAGE_SIZE: intIn(1, 1000).default(500),
  SOURCE_REQUEST_TIMEOUT_SECONDS: intIn(1, 600).default(60),
  QUEUE_VISIBILITY_TIMEOUT_SECONDS: intIn(1, 7 * 24 * 3600).default(300),
  MAX_DEQUEUE_COUNT: intIn(1, 100).default(5),
  MAX_PARALLEL_ACTIVITIES: intIn(1, 64).default(8),
  IMPORT_UNITS_PER_ACTIVITY: intIn(1, 10000).default(200),
  // Mailboxes one import activity works on side by side (one queue receive: at most 32).
  IMPORT_MAILBOXES_PER_ACTIVITY: intIn(1, 32).default(16),
  // Mailboxes of a run imported at once, in all (each paced at Graph's per-mailbox ceiling).
  IMPORT_MAX_MAILBOXES: intIn(1, 10000).default(64),
  IMPORT_ACTIVITY_BUDGET_SECONDS: intIn(10, 3600).default(240),
  GRAPH_MAX_CONCURRENT_PER_MAILBOX: intIn(1, 4).default(4),
  RETRY_TIME_SCALE: z.coerce.number().min(0.0001).max(1).default(1),
  // The ledger claim on an import unit: renewed while its worker works; after a crash another worker takes the unit over once it lapses.
  IMPORT_LEASE_SECONDS: intIn(5, 3600).default(300),
  // How long after a copy may have landed a mailbox look-up that finds nothing is believed (Graph's $filter has no documented read-after-write guarantee).
  GRAPH_LOOKUP_SETTLE_SECONDS: intIn(0, 600).default(10),
  // The local durable driver's lease on a run: after a process dies, a new start resumes the run once it lapses.
  LOCAL_DRIVER_LEASE_SECONDS: intIn(1, 3600).default(30),
  // `o2-archiver serve` only: the function and admin keys it demands, as the Functions host does in Azure
  // (x-functions-key header or ?code=); unset, serve makes random ones and writes them under .local/.
  LOCAL_FUNCTION_KEY: z.string().trim().min(16, 'must be at least 16 characters').optional(),
  LOCAL_ADMIN_KEY: z.string().trim().min(16, 'must be at least 16 characters').optional(),
});

export type Settings = z.infer<typeof SettingsSchema>;
export type SettingName = keyof Settings;

/** Every setting the app reads: the one list that infra/main.bicep, local.settings.sample.json and docs/settings.md agree with (test/infra/settings.test.ts). */
export const SETTING_NAMES = Object.keys(SettingsSchema.shape) as SettingName[];

/**
 * Settings that only a workstation sets, each with why: infra/main.bicep never
 * sets them, local.settings.sample.json lists them with every other setting,
 * and docs/settings.md names them under "Local-only settings".
 */
export const LOCAL_ONLY_SETTINGS = {
  AzureWebJobsStorage: 'the connection-string form (Azurite); Azure uses the identity-based AzureWebJobsStorage__accountName',
  GRAPH_CLIENT_CERTIFICATE_PATH: 'a file on this machine; in Azure, Graph uses the managed identity or a client secret from Key Vault',
  GRAPH_DEV_TOKEN: 'the Graph emulator\'s token; refused unless GRAPH_BASE_URL is on this machine',
  GRAPH_CA_CERT_PATH: 'the Graph emulator\'s certificate; refused unless GRAPH_BASE_URL is on this machine',
  TM_EMULATOR_FAULT_RATE: 'the TeleMessage emulator only',
  GRAPH_EMULATOR_FAULT_RATE: 'the Graph emulator only',
  EMULATOR_SEED: 'the emulators and the sample day only',
  LOCAL_DRIVER_LEASE_SECONDS: 'the local durable driver only (o2-archiver run, npm start); in Azure the Durable extension drives runs',
  LOCAL_FUNCTION_KEY: 'o2-archiver serve only; in Azure the Functions host\'s keys apply',
  LOCAL_ADMIN_KEY: 'o2-archiver serve only; in Azure the Functions host\'s master key applies',
} as const satisfies Partial<Record<SettingName, string>>;

/**
 * Settings the Functions runtime and platform own (docs/settings.md, "Settings
 * that are not the app's"): the app neither reads nor validates them, and
 * the template and the sample may set them. A trailing `*` is a prefix.
 */
export const RUNTIME_SETTINGS = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'AzureWebJobsFeatureFlags',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_*',
  'WEBSITE_*',
] as const;

/** True for a setting the runtime owns (RUNTIME_SETTINGS). */
export function isRuntimeSetting(name: string): boolean {
  return RUNTIME_SETTINGS.some((pattern) => (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern));
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads every setting from `env` (process.env by default) and validates it.
 * Unset optional settings take their defaults; malformed ones throw an
 * ArchiverError naming the setting.
 */
export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const raw: Record<string, string | undefined> = {};
  for (const name of Object.keys(SettingsSchema.shape)) {
    const value = env[name];
    raw[name] = value === undefined || value.trim() === '' ? undefined : value;
  }
  const parsed = SettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue.path[0]);
    throw new ArchiverError('SETTING_INVALID', `Setting ${name} is invalid: ${issue.message}`, { setting: name });
  }
  const settings = parsed.data;
  if (settings.GRAPH_DEV_TOKEN && !isLocalUrl(settings.GRAPH_BASE_URL)) {
    throw new ArchiverError(
      'SETTING_INVALID',
      'Setting GRAPH_DEV_TOKEN is invalid: it is accepted only when GRAPH_BASE_URL is on localhost',
      { setting: 'GRAPH_DEV_TOKEN' },
    );
  }
  if (settings.GRAPH_CA_CERT_PATH && !isLocalUrl(settings.GRAPH_BASE_URL)) {
    throw new ArchiverError(
      'SETTING_INVALID',
      'Setting GRAPH_CA_CERT_PATH is invalid: it is accepted only when GRAPH_BASE_URL is on localhost',
      { setting: 'GRAPH_CA_CERT_PATH' },
    );
  }
  return settings;
}

/** Throws an error naming the first of `names` that is not set. */
export function requireSettings<K extends SettingName>(
  settings: Settings,
  names: readonly K[],
): asserts settings is Settings & { [P in K]-?: NonNullable<Settings[P]> } {
  for (const name of names) {
    if (settings[name] === undefined) {
      throw new ArchiverError('SETTING_MISSING', `Setting ${name} is not set`, { setting: name });
    }
  }
}

/** The storage setting in force, naming which of the two forms is missing. */
export function storageConnection(settings: Settings): { connectionString: string } | { accountName: string } {
  if (settings.AzureWebJobsStorage) return { connectionString: settings.AzureWebJobsStorage };
  if (settings.AzureWebJobsStorage__accountName) return { accountName: settings.AzureWebJobsStorage__accountName };
  throw new ArchiverError('SETTING_MISSING', 'Setting AzureWebJobsStorage is not set', { setting: 'AzureWebJobsStorage' });
}

/** True for http(s) URLs on this machine (the only place a dev token may go). */
export function isLocalUrl(value: string): boolean {
  try {
    const host = new URL(value).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}
