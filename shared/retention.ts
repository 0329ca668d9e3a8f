/**
 * Retention of what a run leaves in storage. A lifecycle rule of the storage
 * account (infra/main.bicep) deletes blobs that carry the blob index tag
 * `o2retention=settled` and have not been modified for a configurable number
 * of days. A rule can filter on tags and on days since the last
 * modification, but cannot compare a date in a tag with today, so "N days
 * after the run settled" is made of two steps when a run finishes: each of
 * its blobs is touched first (its metadata is rewritten, which moves its
 * last-modified time to now) and tagged second (setting tags does not
 * change the last-modified time). A blob that is tagged is therefore at
 * least as young as its run's settling; a crash between the two steps
 * leaves a touched blob without the tag, which the rule never deletes.
 *
 * Staged items are shared by runs (a timer run reads its settle period
 * again, a re-drive takes an earlier run's items, an HTTP run may repeat a
 * window): a run that takes an item up again first takes the tag off the
 * item's blobs (`reopen`), and tags them again when it settles, so the rule
 * can never delete an item under a run that uses it.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { RetentionTag } from './names';

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

/**
 * Settles every blob under `prefix`: touches it (metadata kept, the settling
 * time added, so its last-modified time is now), then tags it. Returns how
 * many blobs it settled.
 */
export async function settleBlobs(container: ContainerClient, prefix: string, settledAt: string, concurrency = 8): Promise<number> {
  const blobs: { name: string; metadata: Record<string, string> }[] = [];
  for await (const blob of container.listBlobsFlat({ prefix, includeMetadata: true })) {
    blobs.push({ name: blob.name, metadata: blob.metadata ?? {} });
  }
  await forEachLimited(blobs, concurrency, async ({ name, metadata }) => {
    const client = container.getBlobClient(name);
    // Touch first: a tag without the touch could let the rule delete a blob staged long ago at once.
    await client.setMetadata({ ...metadata, [SETTLED_AT_METADATA]: settledAt });
    await client.setTags({ [RetentionTag.name]: RetentionTag.settled });
  });
  return blobs.length;
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

export interface SettleRunInput {
  runId: string;
  /** The items the run took (its outcome rows), whose staged blobs it settles. */
  itemKeys: readonly string[];
  /** When the run settled (its finish). */
  settledAt: string;
}

export interface SettleRunResult {
  items: number;
  blobs: number;
}

/** Marks what a run leaves in storage for the lifecycle rule. */
export interface RetentionMarker {
  /** Settles the run's own blobs (raw pages, invalid records, unit lists) and its items' staged blobs. */
  settleRun(input: SettleRunInput): Promise<SettleRunResult>;
}

/** Builds the marker over the staging and runs containers. */
export function createRetentionMarker(containers: { staging: ContainerClient; runs: ContainerClient }, options: { concurrency?: number } = {}): RetentionMarker {
  const concurrency = options.concurrency ?? 8;
  return {
    async settleRun({ runId, itemKeys, settledAt }) {
      const own = runPrefixes(runId);
      let blobs = 0;
      blobs += await settleBlobs(containers.staging, own.staging, settledAt, concurrency);
      blobs += await settleBlobs(containers.runs, own.runs, settledAt, concurrency);
      // Items one after another, each item's blobs in parallel: bounded, and a retry redoes little.
      const keys = [...new Set(itemKeys)].filter((key) => !key.startsWith('raw-'));
      let settledItems = 0;
      await forEachLimited(keys, Math.max(1, Math.floor(concurrency / 2)), async (key) => {
        const n = await settleBlobs(containers.staging, itemPrefix(key), settledAt, 2);
        if (n > 0) settledItems++;
        blobs += n;
      });
      return { items: settledItems, blobs };
    },
  };
}
