/**
 * Re-drive: a new run that imports an earlier run's unmapped and failed items
 * again. Nothing is fetched from the source; each item goes back on the stage
 * queue it stopped before, from what staging kept of it (the converted email
 * goes to mapping, a staged but unconverted item to conversion). The ledger
 * keeps it exactly once: a unit that was imported meanwhile comes out as a
 * duplicate.
 */
import type { ItemBlobName } from './stages';
import type { ActivityLog, ItemMessage } from './activities';
import type { StageQueue } from './queues';
import type { RunItemRow, RunStore, RunUnitRow } from './runs';

export interface RedriveDependencies {
  runs: RunStore;
  queues: { convert: StageQueue<ItemMessage>; map: StageQueue<ItemMessage> };
  staging: {
    /** True when the item's blob is staged (absent from a port: nothing counts as converted). */
    itemBlobExists?(itemKey: string, name: ItemBlobName): Promise<boolean>;
    readStagedItem(itemKey: string): Promise<unknown>;
    /** Takes the retention tag off the item's blobs (shared/retention.ts), so that no lifecycle rule deletes them under this run. */
    reopenItem?(itemKey: string): Promise<number>;
  };
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
  return [...byKey.values()].filter((c) => !c.itemKey.startsWith('raw-')).sort((a, b) => a.itemKey.localeCompare(b.itemKey));
}

/**
 * Claims the earlier run's re-drivable items into the new run and puts each
 * on the queue of the stage it stopped before; idempotent, so a retried
 * beginRun claims the same items and at worst queues a message twice (every
 * stage is idempotent per item).
 */
export async function beginRedrive(input: RedriveInput, deps: RedriveDependencies): Promise<RedriveResult> {
  const { runs, queues, staging } = deps;
  const [items, units] = await Promise.all([runs.listItems(input.redriveOf), runs.listUnits(input.redriveOf)]);
  const candidates = redriveCandidates(items, units);
  const result: RedriveResult = { items: 0, toConvert: 0, toMap: 0, notRedrivable: 0 };
  // The claim's message id names the re-drive, so a retried beginRun finds its own claims ('same').
  const claimId = `redrive:${input.redriveOf}`;
  for (const candidate of candidates) {
    const claim = await runs.claimItem(input.runId, { itemKey: candidate.itemKey, itemId: candidate.itemId, type: candidate.type }, claimId);
    if (claim === 'duplicate') continue;
    result.items++;
    const message: ItemMessage = { runId: input.runId, itemKey: candidate.itemKey };
    // Before it is queued: the earlier run settled the item's blobs, and this run uses them again.
    await staging.reopenItem?.(candidate.itemKey);
    if (staging.itemBlobExists && (await staging.itemBlobExists(candidate.itemKey, 'message.json'))) {
      await queues.map.send(message);
      result.toMap++;
    } else if (await isStaged(staging, candidate.itemKey)) {
      await queues.convert.send(message);
      result.toConvert++;
    } else {
      await runs.setItemOutcome(input.runId, {
        itemKey: candidate.itemKey, itemId: candidate.itemId, type: candidate.type, outcome: 'itemFailed', reason: 'not-redrivable',
        detail: `nothing of the item was staged in run ${input.redriveOf}: it failed before staging, and only a new run of its window reads it again`,
      });
      result.notRedrivable++;
    }
  }
  deps.log?.info(
    `run ${input.runId}: re-drive of ${input.redriveOf}: ${result.items} item(s), ${result.toMap} to map, ${result.toConvert} to convert, ${result.notRedrivable} not re-drivable`,
  );
  return result;
}

async function isStaged(staging: RedriveDependencies['staging'], itemKey: string): Promise<boolean> {
  if (staging.itemBlobExists) return staging.itemBlobExists(itemKey, 'item.json');
  try {
    await staging.readStagedItem(itemKey);
    return true;
  } catch {
    return false;
  }
}
