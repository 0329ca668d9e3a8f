/**
 * The size rule (telemessage-archive-api.md, "Size"): items above the limit
 * are not converted; an item of exactly the limit is.
 */
import { itemSizeInBytes, type StagedItem } from '../../model/item';

export interface TooLarge {
  ok: false;
  reason: 'too-large';
  detail: string;
}

/** The contract's size of a staged item: what staging measured, or measured again when absent. */
export function stagedSizeInBytes(staged: StagedItem): number {
  return Number.isFinite(staged.sizeInBytes) ? staged.sizeInBytes : itemSizeInBytes(staged.item);
}

/** `too-large` with `<n> bytes > <max>` when the item is over the limit, else null. */
export function checkItemSize(staged: StagedItem, maxItemBytes: number): TooLarge | null {
  const size = stagedSizeInBytes(staged);
  return size > maxItemBytes ? { ok: false, reason: 'too-large', detail: `${size} bytes > ${maxItemBytes}` } : null;
}
