/**
 * Retention of what a run leaves in storage. A lifecycle rule of the storage
 * account (infra/main.bicep) deletes blobs that carry the blob index tag
 * `o2retention=settled` and have not been modified for the configured number
 * of days plus one. A rule can filter on tags and on days since the last
 * modification, but cannot compare a date in a tag with today. So:
 * - what a run writes (its .eml files, pages, batches, invalid records) is
 *   tagged as it is written, in the same request: a run settles within a day
 *   of its start, so the rule's extra day keeps each blob at least the
 *   configured days past its run's settling, and settling costs nothing per
 *   item;
 * - what it reuses, written earlier and not written again (media staged by
 *   an earlier run, the .eml of an item a re-drive takes up again), loses its
 *   tag when the run takes it (`reopen`), and when the run settles is touched
 *   (its metadata rewritten, which moves its last-modified time to now), then
 *   tagged (setting tags does not change the last-modified time); a crash
 *   between the two leaves a touched blob without the tag, which the rule
 *   never deletes; media are untagged when first staged, and settled this way;
 * - a run that took longer than a day touches and tags everything it has.
 * What stays open: a run that has not settled when `stagedRetentionDays` + 1
 * days have passed since it wrote a blob (it would have to run for months)
 * can lose that blob to the rule.
 *
 * Staged items are shared by runs (a timer run reads its settle period
 * again, a re-drive takes an earlier run's items, an HTTP run may repeat a
 * window): a run that takes an item up again first takes the tag off what it
 * reuses (`reopen`), and tags it again when it settles, so the rule can never
 * delete an item under a run that uses it.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { RetentionTag } from '../../platform/names';
import { isRawKey } from '../../model/item';

/** Metadata key written when a blob is settled (metadata keys must be C# identifiers). */
export const SETTLED_AT_METADATA = 'o2settledat';

/** The blob prefixes a run owns outright, in the staging and runs containers. */
export function runPrefixes(runId: string): { staging: string; runs: string } {
  return { staging: `runs/${runId}/`, runs: `${runId}/` };
}

/** The blob prefix of one staged item (the item, its media, its .eml and message JSON). */
export function itemPrefix(itemKey: string): string {
  return `items/${itemKey}/`;
}

/** True when `tags` mark a blob as settled (the lifecycle rule's filter). */
export function isSettled(tags: Record<string, string> | undefined): boolean {
  return tags?.[RetentionTag.name] === RetentionTag.settled;
}

/** Runs `work` over `items` with at most `concurrency` at once. */
async function forEachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  });
  await Promise.all(workers);
}

/** Takes the settled tag off every blob under `prefix` that carries it; returns how many. */
export async function reopenBlobs(container: ContainerClient, prefix: string): Promise<number> {
  const tagged: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix, includeTags: true })) {
    if (isSettled(blob.tags)) tagged.push(blob.name);
  }
  await forEachLimited(tagged, 8, async (name) => {
    await container.getBlobClient(name).setTags({});
  });
  return tagged.length;
}

/** How long after its start a run may settle and still only tag what it wrote: the lifecycle rule waits this much longer. */
export const RUN_MARGIN_IN_MS = 24 * 60 * 60_000;

/** What a run took, as far as its blobs go. */
export interface SettledItem {
  itemKey: string;
  /** Items with media (mms, voice) are listed; a plain message's only blob is its .eml. */
  type: string;
}

export interface SettleRunInput {
  runId: string;
  /** The items the run took (its outcome rows), whose blobs it settles. */
  items: readonly SettledItem[];
  /** When the run started, and when it settled (its finish). */
  startedAt: string;
  settledAt: string;
  /** True when the run converted none of its items itself (a re-drive): its .eml files are an earlier run's. */
  reusedItems?: boolean;
}

export interface SettleRunResult {
  items: number;
  blobs: number;
}

/** Marks what a run leaves in storage for the lifecycle rule. */
export interface RetentionMarker {
  /** Settles the run's own blobs (raw pages, batches, invalid records) and its items' blobs (media, .eml). */
  settleRun(input: SettleRunInput): Promise<SettleRunResult>;
}

/** Tags one blob settled, touching it first when it was last written before `touchBefore`; false when it is not there. */
async function settleBlob(container: ContainerClient, blob: { name: string; lastModified: Date; metadata?: Record<string, string> }, settledAt: string, touchBefore: number): Promise<boolean> {
  const client = container.getBlobClient(blob.name);
  try {
    if (blob.lastModified.getTime() < touchBefore) await client.setMetadata({ ...blob.metadata, [SETTLED_AT_METADATA]: settledAt });
    await client.setTags({ [RetentionTag.name]: RetentionTag.settled });
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/** Settles every blob under `prefix` that needs it: untagged ones, and (`all`) tagged ones too, each touched when older than `touchBefore`. */
async function settlePrefix(container: ContainerClient, prefix: string, settledAt: string, touchBefore: number, all: boolean, concurrency: number): Promise<number> {
  const listed: { name: string; lastModified: Date; metadata?: Record<string, string> }[] = [];
  for await (const blob of container.listBlobsFlat({ prefix, includeMetadata: true, includeTags: true })) {
    if (all || !isSettled(blob.tags)) listed.push({ name: blob.name, lastModified: blob.properties.lastModified, metadata: blob.metadata });
  }
  let settled = 0;
  await forEachLimited(listed, concurrency, async (b) => {
    if (await settleBlob(container, b, settledAt, touchBefore)) settled++;
  });
  return settled;
}

/** Builds the marker over the staging and runs containers. */
export function createRetentionMarker(containers: { staging: ContainerClient; runs: ContainerClient }, options: { concurrency?: number } = {}): RetentionMarker {
  const concurrency = options.concurrency ?? 8;
  return {
    async settleRun({ runId, items, startedAt, settledAt, reusedItems }) {
      const settled = Date.parse(settledAt);
      // A run that took longer than the rule's margin touches (and tags again) everything it settles.
      const long = settled - Date.parse(startedAt) > RUN_MARGIN_IN_MS;
      const touchBefore = long ? Number.POSITIVE_INFINITY : settled - RUN_MARGIN_IN_MS;
      let blobs = 0;
      if (long) {
        // What it wrote was tagged as it was written, but may be older than the margin now.
        const own = runPrefixes(runId);
        blobs += await settlePrefix(containers.staging, own.staging, settledAt, touchBefore, true, concurrency);
        blobs += await settlePrefix(containers.runs, own.runs, settledAt, touchBefore, true, concurrency);
      }
      const keys = new Map(items.filter((i) => !isRawKey(i.itemKey)).map((i) => [i.itemKey, i]));
      let settledItems = 0;
      await forEachLimited([...keys.values()], concurrency, async (item) => {
        // A plain message's only blob is its .eml, tagged when this run converted it: nothing to do,
        // unless the run took it from an earlier run (a re-drive) or took longer than the margin.
        if (item.type === 'sms' && !reusedItems && !long) return;
        const n = await settlePrefix(containers.staging, itemPrefix(item.itemKey), settledAt, touchBefore, !!reusedItems || long, 2);
        if (n > 0) settledItems++;
        blobs += n;
      });
      return { items: settledItems, blobs };
    },
  };
}
