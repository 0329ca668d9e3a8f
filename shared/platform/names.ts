/**
 * Every activity, queue, container and table name in one place, so that no
 * name is ever repeated as a string literal (the durable-js samples do this).
 */

export const OrchestratorNames = {
  archiveRun: 'archiveRunOrchestrator',
  stageWorker: 'stageWorkerOrchestrator',
} as const;

export const ActivityNames = {
  beginRun: 'beginRunActivity',
  queueDepths: 'queueDepthsActivity',
  fetchSlices: 'fetchSlicesActivity',
  stageItems: 'stageItemsActivity',
  convertItems: 'convertItemsActivity',
  mapItems: 'mapItemsActivity',
  planImport: 'planImportActivity',
  importMailboxes: 'importMailboxesActivity',
  finishRun: 'finishRunActivity',
} as const;

/** One queue per stage: the work waiting for that stage, as claim checks. */
export const QueueNames = {
  fetch: 'o2-fetch',
  stage: 'o2-stage',
  convert: 'o2-convert',
  map: 'o2-map',
  import: 'o2-import',
} as const;

export type StageName = keyof typeof QueueNames;
export const StageOrder: readonly StageName[] = ['fetch', 'stage', 'convert', 'map', 'import'];

/** A stage's poison queue, shared by all runs: messages that failed more often than the dequeue limit. */
export function poisonQueueName(stage: StageName): string {
  return `${QueueNames[stage]}-poison`;
}

/** The blobs of a run's report in the `reports` container. */
export function reportBlobNames(runId: string): { report: string; failuresCsv: string } {
  return { report: `${runId}.json`, failuresCsv: `${runId}.failures.csv` };
}

export const ContainerNames = {
  /** Raw source records, staged items, their media and converted .eml files. */
  staging: 'staging',
  /** Run reports (`<runId>.json`, `<runId>.failures.csv`). */
  reports: 'reports',
  /** The user mapping in force, its previous versions and change records. */
  mapping: 'mapping',
  /** Per-run working data too large for a queue message (unit lists per mailbox). */
  runs: 'runs',
} as const;

/**
 * The blob index tag of blobs whose run has settled: the storage account's
 * lifecycle rule (infra/main.bicep) deletes tagged blobs a set number of days
 * after their last modification (shared/stages/staging/retention.ts).
 */
export const RetentionTag = {
  name: 'o2retention',
  settled: 'settled',
} as const;

export const TableNames = {
  /** Run records: window, trigger, status, timestamps. */
  runs: 'O2Runs',
  /** One row per (run, item): the item's outcome in that run. */
  runItems: 'O2RunItems',
  /** One row per (run, mailbox, item): the import unit's outcome in that run. */
  runUnits: 'O2RunUnits',
  /** The exactly-once ledger of import units, keyed by mailbox object id and item. */
  ledger: 'O2Ledger',
  /** Local driver only: orchestration instances and their history. */
  driverInstances: 'O2DriverInstances',
  driverHistory: 'O2DriverHistory',
} as const;

/** Rows kept in the runs table beside the run records (PartitionKey values). */
export const RunTableRows = {
  /** The schedule's watermark: where the next timer run's window starts. */
  watermarkPartition: 'watermark',
  watermarkRow: 'archiveSchedule',
  /** Runs accepted over HTTP whose orchestration has not written their record yet (so their status URL answers at once). */
  acceptedPartition: 'accepted',
  /** The re-drive backlog as it stands: one row per owed item (and mailbox), kept as runs finish. */
  backlogPartition: 'backlog',
  /** Marks the backlog rows as built (they were rebuilt from recent runs once, on an upgrade). */
  backlogBuiltPartition: 'backlog-built',
} as const;

export const HttpRoutes = {
  runs: 'runs',
  run: 'runs/{runId}',
  redrive: 'runs/{runId}/redrive',
  mapping: 'mapping',
  dashboard: 'dashboard',
  // The same views with phone numbers in full: admin key only (authLevel 'admin'). Not under `admin/`,
  // which the Functions host keeps for its own API.
  unmaskedRuns: 'unmasked/runs',
  unmaskedRun: 'unmasked/runs/{runId}',
  unmaskedDashboard: 'unmasked/dashboard',
} as const;

/** The timer and HTTP functions (functions/<name>.ts). */
export const TriggerNames = {
  archiveTimer: 'archiveTimer',
  housekeepingTimer: 'housekeepingTimer',
  startRunHttp: 'startRunHttp',
  listRunsHttp: 'listRunsHttp',
  getRunHttp: 'getRunHttp',
  redriveHttp: 'redriveHttp',
  mappingHttp: 'mappingHttp',
  dashboardHttp: 'dashboardHttp',
  listRunsUnmaskedHttp: 'listRunsUnmaskedHttp',
  getRunUnmaskedHttp: 'getRunUnmaskedHttp',
  dashboardUnmaskedHttp: 'dashboardUnmaskedHttp',
} as const;
