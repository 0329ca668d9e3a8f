/**
 * The stage activities: each takes a batch of claim checks from its stage
 * queue, does the stage's work through the stage modules, hands claim checks
 * to the next queue and records outcomes. They return counts, never items.
 * Dependencies come from one factory (as Temporal's `createActivities`), so
 * Azure, the local driver and tests run the same code against different clients.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Settings } from './config';
import { describeError, isArchiverError } from './errors';
import { itemKey, type Item, type ItemType, type StagedItem, type TimeWindow } from './item';
import { maskPhone } from './phone';
import { RetryBudgetExhaustedError } from './retry';
import { StageQueue, withRenewedLease, type QueueDepth, type StageMessage } from './queues';
import { buildReport, failuresCsv, type ReportCounts, type RunReport } from './report';
import type { RunRecord, RunStore, RunTrigger, RunUnitRow } from './runs';
import type {
  ArchiveSource,
  ConvertResult,
  ImportUnit,
  ItemBlobName,
  ItemRouting,
  MailboxImporter,
  RecordValidation,
  ResolvedMailbox,
  StageItemResult,
} from './stages';
import { sliceWindow, type WindowSlice } from './window';
import { beginRedrive } from './redrive';
import { advanceWatermarkAfterRun, watermarkStoreOf } from './watermark';
import type { StageName } from './names';

// ---- messages on the stage queues (claim checks, never payloads) -----------

export interface FetchMessage { runId: string; slice: WindowSlice }
export interface StageRecordMessage { runId: string; pageBlob: string; index: number }
export interface ItemMessage { runId: string; itemKey: string }
export interface ImportMessage { runId: string; mailboxId: string; unitsBlob: string; offset: number }

export interface StageQueues {
  fetch: StageQueue<FetchMessage>;
  stage: StageQueue<StageRecordMessage>;
  convert: StageQueue<ItemMessage>;
  map: StageQueue<ItemMessage>;
  import: StageQueue<ImportMessage>;
}

// ---- the ports the activities need ------------------------------------------

/** The staging store as the activities use it (shared/staging.ts implements it). */
export interface StagingPort {
  putRawPage(runId: string, pageName: string, records: unknown[]): Promise<string>;
  readRawPage(blobName: string): Promise<unknown[]>;
  putInvalidRecord(runId: string, raw: unknown, detail: string): Promise<string>;
  stageItem(item: Item, sourceSha256: string, source: ArchiveSource | null): Promise<StageItemResult>;
  readStagedItem(itemKey: string): Promise<StagedItem>;
  openMedia(itemKey: string, mediaId: string): Promise<Readable>;
  putItemBlob(itemKey: string, name: ItemBlobName, body: Readable | Buffer | string, contentType: string): Promise<number>;
  /** Whether a blob beside the item exists (a re-drive picks the stage to resume from by it). */
  itemBlobExists?(itemKey: string, name: ItemBlobName): Promise<boolean>;
}

/** A blob store for per-run working data (unit lists) and reports. */
export interface BlobPort {
  putText(container: 'runs' | 'reports', name: string, text: string, contentType: string): Promise<void>;
  getText(container: 'runs' | 'reports', name: string): Promise<string>;
}

export interface ActivityLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ActivityDependencies {
  settings: Settings;
  queues: StageQueues;
  runs: RunStore;
  blobs: BlobPort;
  staging: StagingPort;
  /** The archive source; created lazily, so activities that never call it need no TeleMessage settings. */
  source(): ArchiveSource;
  validateRecord(raw: unknown): RecordValidation;
  convertItem(staged: StagedItem, openMedia: (mediaId: string) => Promise<Readable>): Promise<ConvertResult>;
  /** A router for one batch, over the mapping in force and the tenant's users. */
  router(): Promise<{ routeMany(items: Item[]): Promise<ItemRouting[]> }>;
  importer(): MailboxImporter;
  /** Creates the queues, containers and tables when missing (once per process). */
  ensureStorage(): Promise<void>;
  log?: ActivityLog;
}

// ---- inputs and results -------------------------------------------------------

export interface BeginRunInput {
  runId: string;
  instanceId: string;
  trigger: RunTrigger;
  window: TimeWindow;
  readFrom: string;
  startedAt: string;
  redriveOf?: string;
}
export interface BeginRunResult { slices: number }

export interface RunRef { runId: string }

export interface StageBatchResult {
  /** Messages taken from the queue. */
  taken: number;
  /** Messages finished (outcome recorded or handed on). */
  done: number;
  poisoned: number;
}

export type QueueDepths = Record<StageName, QueueDepth>;

export interface PlanImportResult { mailboxes: number; units: number }

export interface FinishRunInput { runId: string; error?: string; finishedAt: string }
export interface FinishRunResult { runId: string; status: RunReport['status']; counts: ReportCounts; error?: string }

/** Units handed to the importer at once, between checks of the activity's time budget. */
const IMPORT_STEP_UNITS = 16;

const silent: ActivityLog = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Builds the activity implementations over the given dependencies. */
export function createActivities(deps: ActivityDependencies) {
  const { settings, queues, runs } = deps;
  const log = deps.log ?? silent;
  const leaseRenewalInMs = (settings.QUEUE_VISIBILITY_TIMEOUT_SECONDS * 1000) / 3;

  /** Runs `work` for each fresh message, a few at a time; failures leave the message for redelivery. */
  async function each<T>(queue: StageQueue<T>, messages: StageMessage<T>[], work: (m: StageMessage<T>) => Promise<void>): Promise<number> {
    let done = 0;
    await Promise.all(
      messages.map(async (message) => {
        try {
          await work(message);
          done++;
        } catch (e) {
          // Worth retrying: the message becomes visible again after its lease, up to the dequeue limit.
          log.warn(`${queue.queue.name}: message ${message.messageId} left for redelivery: ${describeError(e)}`);
        }
      }),
    );
    return done;
  }

  return {
    /** Creates the run record and puts one fetch message per slice of the read window. */
    async beginRun(input: BeginRunInput): Promise<BeginRunResult> {
      // A new storage account has none of the queues, tables and containers yet.
      await deps.ensureStorage();
      const run: RunRecord = {
        runId: input.runId, instanceId: input.instanceId, trigger: input.trigger, window: input.window,
        readFrom: input.readFrom, startedAt: input.startedAt, finishedAt: null, status: 'running',
        ...(input.redriveOf ? { redriveOf: input.redriveOf } : {}),
      };
      const existing = await runs.getRun(input.runId);
      if (existing) return { slices: existing.redriveOf ? 0 : sliceWindow({ from: existing.readFrom, to: existing.window.to }, settings.SLICE_MINUTES).length };
      if (input.redriveOf) {
        // Like the slices: the items are claimed and queued before the record marks the begin as done.
        await beginRedrive({ runId: input.runId, redriveOf: input.redriveOf }, { runs, queues, staging: deps.staging, log });
        await runs.createRun(run);
        return { slices: 0 };
      }
      const slices = sliceWindow({ from: input.readFrom, to: input.window.to }, settings.SLICE_MINUTES);
      // The record is written after the messages: a retried beginRun that finds it knows the slices are queued.
      await queues.fetch.sendMany(slices.map((slice) => ({ runId: input.runId, slice })));
      await runs.createRun(run);
      log.info(`run ${input.runId}: ${slices.length} slices of ${input.readFrom} .. ${input.window.to} queued`);
      return { slices: slices.length };
    },

    /** How much work waits in each stage queue. */
    async queueDepths(): Promise<QueueDepths> {
      const entries = await Promise.all(
        (Object.keys(queues) as StageName[]).map(async (stage) => [stage, await queues[stage].depth()] as const),
      );
      return Object.fromEntries(entries) as QueueDepths;
    },

    /** Reads one slice of the window page by page; every page's records go to blob and the stage queue. */
    async fetchSlices(): Promise<StageBatchResult> {
      const batch = await queues.fetch.receive(1);
      for (const message of batch.poisoned) {
        const { runId, slice } = message.body;
        await runs.addRunError(runId, `slice-${slice?.index}`, `slice ${slice?.from} .. ${slice?.to} could not be read (poisoned after ${message.dequeueCount} attempts)`);
        await queues.fetch.poison(message, 'poisoned');
      }
      const done = await each(queues.fetch, batch.fresh, (message) =>
        withRenewedLease(queues.fetch, message, leaseRenewalInMs, async () => {
          const { runId, slice } = message.body;
          try {
            let cursor: string | null = null;
            let page = 0;
            do {
              const result = await deps.source().listPage({ from: slice.from, to: slice.to }, cursor);
              if (result.records.length > 0) {
                // Named by delivery, so a redelivered slice never overwrites pages that messages point at.
                const pageBlob = await deps.staging.putRawPage(runId, `${slice.index}-${message.dequeueCount}-${page}`, result.records);
                await queues.stage.sendMany(result.records.map((_, index) => ({ runId, pageBlob, index })));
              }
              cursor = result.nextCursor;
              page++;
            } while (cursor);
            log.info(`run ${runId}: slice ${slice.index} read in ${page} page(s)`);
          } catch (e) {
            const sourceFailure = (isArchiverError(e) && e.code.startsWith('SOURCE_')) || e instanceof RetryBudgetExhaustedError;
            if (!sourceFailure) throw e;
            // The source's own retry budget is spent, or it refused us: the slice's items are unknown.
            await runs.addRunError(runId, isArchiverError(e, 'SOURCE_AUTH_FAILED') ? 'login' : `slice-${slice.index}`,
              isArchiverError(e, 'SOURCE_AUTH_FAILED') ? describeError(e) : `slice ${slice.from} .. ${slice.to} could not be read: ${describeError(e)}`);
            log.error(`run ${runId}: slice ${slice.index} failed: ${describeError(e)}`);
          }
          await queues.fetch.complete(message);
        }),
      );
      return { taken: batch.fresh.length + batch.poisoned.length, done, poisoned: batch.poisoned.length };
    },

    /** Validates records, sets invalid ones aside, stages valid items and their media. */
    async stageItems(): Promise<StageBatchResult> {
      const batch = await queues.stage.receive(settings.QUEUE_BATCH_SIZE);
      const pages = new Map<string, Promise<unknown[]>>();
      const readRecord = async (m: StageMessage<StageRecordMessage>) => {
        if (!pages.has(m.body.pageBlob)) pages.set(m.body.pageBlob, deps.staging.readRawPage(m.body.pageBlob));
        return (await pages.get(m.body.pageBlob)!)[m.body.index];
      };
      for (const message of batch.poisoned) {
        const raw = await readRecord(message).catch(() => undefined);
        const identity = recordIdentity(raw);
        const claim = await runs.claimItem(message.body.runId, identity, message.messageId);
        if (claim !== 'duplicate') {
          await runs.setItemOutcome(message.body.runId, { ...identity, outcome: 'itemFailed', reason: 'poisoned', detail: `staging failed ${message.dequeueCount} times` });
        }
        await queues.stage.poison(message, 'poisoned');
      }
      const done = await each(queues.stage, batch.fresh, async (message) => {
        const { runId } = message.body;
        const raw = await readRecord(message);
        const identity = recordIdentity(raw);
        const claim = await runs.claimItem(runId, identity, message.messageId);
        if (claim === 'duplicate') {
          // The same id on two pages or in two slices is one item.
          await queues.stage.complete(message);
          return;
        }
        const validation = deps.validateRecord(raw);
        if (!validation.ok) {
          await deps.staging.putInvalidRecord(runId, raw, validation.detail);
          await runs.setItemOutcome(runId, { ...identity, itemId: validation.itemId, type: validation.type, outcome: 'invalid', reason: 'invalid', detail: validation.detail });
        } else {
          const staged = await deps.staging.stageItem(validation.item, validation.sourceSha256, deps.source());
          if (staged.ok) await queues.convert.send({ runId, itemKey: identity.itemKey });
          else await runs.setItemOutcome(runId, { ...identity, outcome: 'itemFailed', reason: staged.reason, detail: staged.detail });
        }
        await queues.stage.complete(message);
      });
      return { taken: batch.fresh.length + batch.poisoned.length, done, poisoned: batch.poisoned.length };
    },

    /** Converts staged items to .eml (the size rule first) and hands them to mapping. */
    async convertItems(): Promise<StageBatchResult> {
      const batch = await queues.convert.receive(Math.min(8, settings.QUEUE_BATCH_SIZE));
      await poisonItems(queues.convert, batch.poisoned, 'conversion');
      const done = await each(queues.convert, batch.fresh, async (message) => {
        const { runId, itemKey: key } = message.body;
        const staged = await deps.staging.readStagedItem(key);
        const result = await deps.convertItem(staged, (mediaId) => deps.staging.openMedia(key, mediaId));
        if (!result.ok) {
          await runs.setItemOutcome(runId, {
            itemKey: key, itemId: staged.item.id, type: staged.item.type,
            outcome: result.reason === 'too-large' ? 'tooLarge' : 'itemFailed', reason: result.reason, detail: result.detail,
          });
        } else {
          let emlBytes: number;
          try {
            emlBytes = await deps.staging.putItemBlob(key, 'message.eml', result.eml, 'message/rfc822');
          } catch (e) {
            // Media are verified again as they stream into the .eml: staged bytes that changed are the item's failure.
            if (!isArchiverError(e, 'MEDIA_CHECKSUM_MISMATCH')) throw e;
            await runs.setItemOutcome(runId, { itemKey: key, itemId: staged.item.id, type: staged.item.type, outcome: 'itemFailed', reason: 'media-checksum-mismatch', detail: describeError(e) });
            await queues.convert.complete(message);
            return;
          }
          const email = { ...result.email, emlSizeInBytes: emlBytes };
          await deps.staging.putItemBlob(key, 'message.json', JSON.stringify(email), 'application/json');
          await queues.map.send({ runId, itemKey: key });
        }
        await queues.convert.complete(message);
      });
      return { taken: batch.fresh.length + batch.poisoned.length, done, poisoned: batch.poisoned.length };
    },

    /** Routes converted items to mailboxes: one import unit per distinct mailbox, or unmapped. */
    async mapItems(): Promise<StageBatchResult> {
      const batch = await queues.map.receive(settings.QUEUE_BATCH_SIZE);
      await poisonItems(queues.map, batch.poisoned, 'mapping');
      if (batch.fresh.length === 0) return { taken: batch.poisoned.length, done: 0, poisoned: batch.poisoned.length };
      let done = 0;
      try {
        const staged = await Promise.all(batch.fresh.map((m) => deps.staging.readStagedItem(m.body.itemKey)));
        const router = await deps.router();
        const routings = await router.routeMany(staged.map((s) => s.item));
        done = await each(queues.map, batch.fresh, async (message) => {
          const i = batch.fresh.indexOf(message);
          const { runId, itemKey: key } = message.body;
          const { item } = staged[i];
          const routing = routings[i];
          if (routing.mailboxes.length === 0) {
            await runs.setItemOutcome(runId, {
              itemKey: key, itemId: item.id, type: item.type, outcome: 'unmapped', reason: 'unmapped',
              detail: `no Microsoft 365 user for ${routing.unmappedNumbers.map(maskPhone).join(', ')}`,
              unmappedNumbers: routing.unmappedNumbers,
            });
          } else {
            await runs.addUnits(runId, routing.mailboxes.map((mailbox) => unitRow(mailbox, key, item)));
            await runs.setItemOutcome(runId, { itemKey: key, itemId: item.id, type: item.type, outcome: 'routed' });
          }
          await queues.map.complete(message);
        });
      } catch (e) {
        // The directory or the mapping could not be read: the whole batch waits for redelivery.
        log.warn(`mapping batch left for redelivery: ${describeError(e)}`);
      }
      return { taken: batch.fresh.length + batch.poisoned.length, done, poisoned: batch.poisoned.length };
    },

    /** Groups the run's pending units by mailbox and starts one import chain per mailbox. */
    async planImport(input: RunRef): Promise<PlanImportResult> {
      const pending = (await runs.listUnits(input.runId)).filter((u) => u.outcome === 'pending');
      const byMailbox = new Map<string, RunUnitRow[]>();
      for (const unit of pending) byMailbox.set(unit.mailboxId, [...(byMailbox.get(unit.mailboxId) ?? []), unit]);
      let mailboxes = 0;
      for (const [mailboxId, units] of byMailbox) {
        if (!(await runs.markMailboxPlanned(input.runId, mailboxId))) continue;
        const unitsBlob = `${input.runId}/units/${mailboxId}.json`;
        const list: UnitList = {
          mailbox: { objectId: mailboxId, userPrincipalName: units[0].mailbox },
          units: units.map((u) => ({ itemKey: u.itemKey, itemId: u.itemId, itemType: u.type })),
        };
        await deps.blobs.putText('runs', unitsBlob, JSON.stringify(list), 'application/json');
        await queues.import.send({ runId: input.runId, mailboxId, unitsBlob, offset: 0 });
        mailboxes++;
      }
      return { mailboxes, units: pending.length };
    },

    /** Imports the next slice of one mailbox's units, then hands the rest of the chain on. */
    async importMailbox(): Promise<StageBatchResult> {
      const batch = await queues.import.receive(1);
      for (const message of batch.poisoned) {
        const list = await readUnitList(message.body).catch(() => undefined);
        for (const unit of list?.units.slice(message.body.offset) ?? []) {
          await runs.setUnitOutcome(message.body.runId, {
            ...unitRow(list!.mailbox, unit.itemKey, { id: unit.itemId, type: unit.itemType }),
            outcome: 'failed', reason: 'poisoned', detail: `import failed ${message.dequeueCount} times`,
          });
        }
        await queues.import.poison(message, 'poisoned');
      }
      const done = await each(queues.import, batch.fresh, (message) =>
        withRenewedLease(queues.import, message, leaseRenewalInMs, async () => {
          const { runId, offset } = message.body;
          const list = await readUnitList(message.body);
          const end = Math.min(list.units.length, offset + settings.IMPORT_UNITS_PER_ACTIVITY);
          const current = new Map((await runs.listUnits(runId)).filter((u) => u.mailboxId === list.mailbox.objectId).map((u) => [u.itemKey, u]));
          // After a crash some units of this slice already have their outcome: only the rest go to Graph.
          const pending = (u: ImportUnit) => (current.get(u.itemKey)?.outcome ?? 'pending') === 'pending';
          // Small steps under a time budget: big items paced at 150 MB per 5 minutes must not outrun the function timeout.
          const deadline = Date.now() + settings.IMPORT_ACTIVITY_BUDGET_SECONDS * 1000;
          let next = offset;
          while (next < end && Date.now() < deadline) {
            const step = list.units.slice(next, Math.min(end, next + IMPORT_STEP_UNITS));
            const todo = step.filter(pending);
            if (todo.length > 0) {
              const results = await deps.importer().importUnits(runId, list.mailbox, todo);
              await Promise.all(
                results.map((result) => {
                  const unit = todo.find((u) => u.itemKey === result.itemKey)!;
                  const row = unitRow(list.mailbox, unit.itemKey, { id: unit.itemId, type: unit.itemType });
                  if (result.outcome === 'partial' || result.outcome === 'failed') {
                    return runs.setUnitOutcome(runId, { ...row, outcome: result.outcome, reason: result.reason, detail: result.detail });
                  }
                  return runs.setUnitOutcome(runId, { ...row, outcome: result.outcome });
                }),
              );
            }
            next += step.length;
          }
          if (next < list.units.length) await queues.import.send({ ...message.body, offset: next });
          await queues.import.complete(message);
        }),
      );
      return { taken: batch.fresh.length + batch.poisoned.length, done, poisoned: batch.poisoned.length };
    },

    /** Computes the report, writes it (JSON and failures CSV) and closes the run record. */
    async finishRun(input: FinishRunInput): Promise<FinishRunResult> {
      const run = await runs.getRun(input.runId);
      if (!run) throw new RangeError(`no run ${input.runId}`);
      if (input.error) await runs.addRunError(input.runId, 'orchestration', input.error);
      const [items, units, errors] = await Promise.all([runs.listItems(input.runId), runs.listUnits(input.runId), runs.listRunErrors(input.runId)]);
      const report = buildReport(run, items, units, { final: true, finishedAt: input.finishedAt, runErrors: errors });
      await deps.blobs.putText('reports', `${input.runId}.json`, JSON.stringify(report, null, 2), 'application/json');
      await deps.blobs.putText('reports', `${input.runId}.failures.csv`, failuresCsv(report), 'text/csv');
      await runs.updateRun(input.runId, { status: report.status, finishedAt: report.finishedAt, ...(report.error ? { error: report.error } : {}) });
      log.info(`run ${input.runId}: ${report.status} ${JSON.stringify(report.counts)}`);
      const watermark = await advanceWatermarkAfterRun(watermarkStoreOf(runs), run, report.status);
      if (watermark) log.info(`run ${input.runId}: watermark moved to ${watermark}`);
      return { runId: input.runId, status: report.status, counts: report.counts, ...(report.error ? { error: report.error } : {}) };
    },
  };

  async function poisonItems(queue: StageQueue<ItemMessage>, messages: StageMessage<ItemMessage>[], stage: string): Promise<void> {
    for (const message of messages) {
      const { runId, itemKey: key } = message.body;
      const staged = await deps.staging.readStagedItem(key).catch(() => undefined);
      await runs.setItemOutcome(runId, {
        itemKey: key, itemId: staged?.item.id ?? null, type: staged?.item.type ?? 'unknown',
        outcome: 'itemFailed', reason: 'poisoned', detail: `${stage} failed ${message.dequeueCount} times`,
      });
      await queue.poison(message, 'poisoned');
    }
  }

  async function readUnitList(message: ImportMessage): Promise<UnitList> {
    return JSON.parse(await deps.blobs.getText('runs', message.unitsBlob)) as UnitList;
  }
}

export type Activities = ReturnType<typeof createActivities>;

interface UnitList {
  mailbox: ResolvedMailbox;
  units: ImportUnit[];
}

function unitRow(mailbox: ResolvedMailbox, key: string, item: { id: string; type: ItemType }): RunUnitRow {
  return { mailboxId: mailbox.objectId, mailbox: mailbox.userPrincipalName, itemKey: key, itemId: item.id, type: item.type, outcome: 'pending' };
}

const ITEM_TYPES: readonly string[] = ['sms', 'mms', 'voice'];

/** The item key, id and type of a raw record as far as they can be read before validation. */
export function recordIdentity(raw: unknown): { itemKey: string; itemId: string | null; type: ItemType | 'unknown' } {
  const record = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const id = typeof record.id === 'string' && record.id.length > 0 && record.id.length <= 256 ? record.id : null;
  const type = typeof record.type === 'string' && ITEM_TYPES.includes(record.type) ? (record.type as ItemType) : 'unknown';
  // A record with no usable id counts once, by its content.
  const key = id !== null ? itemKey(id) : 'raw-' + createHash('sha256').update(JSON.stringify(raw ?? null)).digest('hex');
  return { itemKey: key, itemId: id, type };
}
