/**
 * Re-drive: a new run that imports an earlier run's unmapped and failed items
 * again. Nothing is fetched from the source; each item goes back on the stage
 * queue it stopped before, from what staging kept of it (the converted email
 * goes to mapping, a staged but unconverted item to conversion). The ledger
 * keeps it exactly once: a unit that was imported meanwhile comes out as a
 * duplicate.
 */
import { isRawKey, itemKey as keyOf } from '../model/item';
import type { ActivityLog } from '../platform/logging';
import type { BatchMessage, ConvertedBatch, ConvertedItem, StagedBatch } from './messages';
import type { StagingPort } from '../stages/staging/store';
import type { StageQueue } from '../platform/queues';
import type { RunItemRow, RunStore, RunUnitRow } from './runs';
import type { StagedItem } from '../model/item';

export interface RedriveDependencies {
  runs: RunStore;
  queues: { convert: StageQueue<BatchMessage>; map: StageQueue<BatchMessage> };
  staging: Pick<StagingPort, 'readBatch' | 'putBatch'> & Partial<Pick<StagingPort, 'reopenItem'>>;
  log?: ActivityLog;
}

export interface RedriveInput {
  /** The new run. */
  runId: string;
  /** The run whose items it imports again. */
  redriveOf: string;
}

export interface RedriveResult {
  /** Items claimed into the new run (its `sourceItems`). */
  items: number;
  toConvert: number;
  toMap: number;
  /** Items with nothing staged to start from (they failed before staging): reported, not imported. */
  notRedrivable: number;
  /** Batches queued for conversion and for mapping. */
  convertBatches: number;
  mapBatches: number;
}

export interface RedriveCandidate {
  itemKey: string;
  itemId: string | null;
  type: RunItemRow['type'];
  /** Why the item is re-driven: its item outcome, or `unit-failed`. */
  why: 'unmapped' | 'itemFailed' | 'unit-failed';
}

/** The items of a finished run worth importing again: unmapped or failed items, and items with a failed (or never finished) unit. */
export function redriveCandidates(items: readonly RunItemRow[], units: readonly RunUnitRow[]): RedriveCandidate[] {
  const byKey = new Map<string, RedriveCandidate>();
  for (const item of items) {
    // An item left without an outcome is reported as itemFailed (no-outcome): re-driven like one.
    if (item.outcome === 'unmapped' || item.outcome === 'itemFailed' || item.outcome === undefined) {
      byKey.set(item.itemKey, { itemKey: item.itemKey, itemId: item.itemId, type: item.type, why: item.outcome === 'unmapped' ? 'unmapped' : 'itemFailed' });
    }
  }
  for (const unit of units) {
    if ((unit.outcome === 'failed' || unit.outcome === 'pending') && !byKey.has(unit.itemKey)) {
      byKey.set(unit.itemKey, { itemKey: unit.itemKey, itemId: unit.itemId, type: unit.type, why: 'unit-failed' });
    }
  }
  // Records without an id were invalid and are never re-driven (no retry changes them).
  return [...byKey.values()].filter((c) => !isRawKey(c.itemKey)).sort((a, b) => a.itemKey.localeCompare(b.itemKey));
}

/** Items in one re-driven batch, like a source page. */
const REDRIVE_BATCH_ITEMS = 500;

/**
 * Claims the earlier run's re-drivable items into the new run and puts them,
 * in batches, on the queue of the stage they stopped before: mapping when the
 * earlier run converted them (its converted batch holds the email),
 * conversion when it only staged them. Idempotent: a retried beginRun claims
 * the same items and at worst queues a batch twice (every stage is
 * idempotent per item).
 */
export async function beginRedrive(input: RedriveInput, deps: RedriveDependencies): Promise<RedriveResult> {
  const { runs, queues, staging } = deps;
  const [items, units] = await Promise.all([runs.listItems(input.redriveOf), runs.listUnits(input.redriveOf)]);
  const candidates = redriveCandidates(items, units);
  const earlier = new Map(items.map((i) => [i.itemKey, i]));
  // The claim's message id names the re-drive, so a retried beginRun finds its own claims ('same').
  const claims = await runs.claimItems(input.runId, candidates.map((c) => ({ itemKey: c.itemKey, itemId: c.itemId, type: c.type })), `redrive:${input.redriveOf}`);
  const batches = new Map<string, Promise<StagedBatch | ConvertedBatch | undefined>>();
  const read = (blob: string) => {
    if (!batches.has(blob)) batches.set(blob, staging.readBatch<StagedBatch | ConvertedBatch>(blob).catch(() => undefined));
    return batches.get(blob)!;
  };
  const toMap: ConvertedItem[] = [];
  const toConvert: StagedItem[] = [];
  const notRedrivable: RunItemRow[] = [];
  for (const candidate of candidates) {
    if (claims.get(candidate.itemKey) === 'duplicate') continue;
    // Before it is queued: the earlier run settled the item's blobs (media, .eml), and this run uses them again.
    await staging.reopenItem?.(candidate.itemKey);
    const row = earlier.get(candidate.itemKey);
    const converted = row?.converted ? ((await read(row.converted)) as ConvertedBatch | undefined)?.items.find((i) => i.itemKey === candidate.itemKey) : undefined;
    if (converted) {
      toMap.push(converted);
      continue;
    }
    const staged = row?.staged ? ((await read(row.staged)) as StagedBatch | undefined)?.items.find((i) => keyOf(i.item.id) === candidate.itemKey) : undefined;
    if (staged) {
      toConvert.push(staged);
      continue;
    }
    notRedrivable.push({
      itemKey: candidate.itemKey, itemId: candidate.itemId, type: candidate.type, outcome: 'itemFailed', reason: 'not-redrivable',
      detail: `nothing of the item was staged in run ${input.redriveOf}: it failed before staging, and only a new run of its window reads it again`,
    });
  }
  await runs.setItemFields(input.runId, notRedrivable);
  const result: RedriveResult = {
    items: toMap.length + toConvert.length + notRedrivable.length, toConvert: toConvert.length, toMap: toMap.length, notRedrivable: notRedrivable.length,
    convertBatches: 0, mapBatches: 0,
  };
  for (let i = 0; i < toConvert.length; i += REDRIVE_BATCH_ITEMS) {
    const chunk = toConvert.slice(i, i + REDRIVE_BATCH_ITEMS);
    const batchBlob = await staging.putBatch(input.runId, 'staged', `redrive-${i / REDRIVE_BATCH_ITEMS}`, { runId: input.runId, items: chunk } satisfies StagedBatch);
    await runs.setItemFields(input.runId, chunk.map((s) => ({ itemKey: keyOf(s.item.id), staged: batchBlob })));
    await queues.convert.send({ runId: input.runId, batchBlob, items: chunk.length });
    result.convertBatches++;
  }
  for (let i = 0; i < toMap.length; i += REDRIVE_BATCH_ITEMS) {
    const chunk = toMap.slice(i, i + REDRIVE_BATCH_ITEMS);
    const batchBlob = await staging.putBatch(input.runId, 'converted', `redrive-${i / REDRIVE_BATCH_ITEMS}`, { runId: input.runId, items: chunk } satisfies ConvertedBatch);
    await queues.map.send({ runId: input.runId, batchBlob, items: chunk.length });
    result.mapBatches++;
  }
  deps.log?.info(
    `run ${input.runId}: re-drive of ${input.redriveOf}: ${result.items} item(s), ${result.toMap} to map, ${result.toConvert} to convert, ${result.notRedrivable} not re-drivable`,
  );
  return result;
}
