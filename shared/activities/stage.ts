/**
 * The staging stage, a page of records at a time: claims each record for the
 * run (the same id twice is one item), validates it, sets an invalid one
 * aside with its reason, stages each valid item's media, and hands the
 * page's staged items to conversion as one batch.
 */
import { itemSizeInBytes, type StagedItem } from '../model/item';
import type { RunItemRow } from '../run/runs';
import { withRenewedLease } from '../platform/queues';
import { withinLargeItemBudget } from '../platform/largeItems';
import { batchName, batchResult, forEachMessage, recordIdentity } from './batch';
import { mapLimited } from './limit';
import type { RunRef, StageBatchResult, StagedBatch } from '../run/messages';
import type { ActivityContext } from './types';

/** Pages taken at once by one staging activity. */
export const PAGES_PER_STAGE_ACTIVITY = 2;
/** Items whose media are staged at once. */
const MEDIA_CONCURRENCY = 8;

/** Validates a page's records, sets invalid ones aside, stages valid items and their media, and queues them for conversion as one batch. */
export async function stageItems(context: ActivityContext, { runId }: RunRef): Promise<StageBatchResult> {
  const { deps } = context;
  const { runs, staging } = deps;
  const queues = deps.queues.of(runId);
  const batch = await queues.stage.receive(PAGES_PER_STAGE_ACTIVITY);
  for (const message of batch.poisoned) {
    const records = await staging.readRawPage(message.body.pageBlob).catch(() => [] as unknown[]);
    const identities = [...new Map(records.map((r) => recordIdentity(r)).map((i) => [i.itemKey, i])).values()];
    const claims = await runs.claimItems(runId, identities, message.messageId);
    for (const identity of identities) {
      if (claims.get(identity.itemKey) === 'duplicate') continue;
      await runs.setItemOutcomeIfNone(runId, { ...identity, outcome: 'itemFailed', reason: 'poisoned', detail: `staging failed ${message.dequeueCount} times` });
    }
    await queues.stage.poison(message, 'poisoned');
  }
  const total = await forEachMessage(context, queues.stage, batch.fresh, (message) => withRenewedLease(queues.stage, message, context.leaseRenewalInMs, async () => {
    const records = await staging.readRawPage(message.body.pageBlob);
    const stagedBlob = `runs/${runId}/staged/${batchName(message.body.pageBlob)}.json`;
    // The first record with an id stands for it on this page; the same id on another page finds its claim taken.
    const firsts = new Map<string, { raw: unknown; identity: ReturnType<typeof recordIdentity> }>();
    for (const raw of records) {
      const identity = recordIdentity(raw);
      if (!firsts.has(identity.itemKey)) firsts.set(identity.itemKey, { raw, identity });
    }
    const checked = [...firsts.values()].map((r) => ({ ...r, validation: deps.validateRecord(r.raw) }));
    const rows: RunItemRow[] = checked.map(({ identity, validation }) =>
      validation.ok
        ? { ...identity, staged: stagedBlob }
        : { ...identity, itemId: validation.itemId, type: validation.type, outcome: 'invalid', reason: 'invalid', detail: validation.detail },
    );
    const claims = await runs.claimItems(runId, rows, message.messageId);
    const ours = checked.filter((r) => claims.get(r.identity.itemKey) !== 'duplicate');
    const failures: RunItemRow[] = [];
    const staged = (
      await mapLimited(ours, MEDIA_CONCURRENCY, async ({ raw, identity, validation }): Promise<StagedItem | undefined> => {
        if (!validation.ok) {
          await staging.putInvalidRecord(runId, raw, validation.detail);
          return undefined;
        }
        const result = await withinLargeItemBudget(itemSizeInBytes(validation.item), () => staging.stageItem(validation.item, validation.sourceSha256, deps.source()));
        if (result.ok) return result.staged;
        failures.push({ ...identity, outcome: 'itemFailed', reason: result.reason, detail: result.detail });
        return undefined;
      })
    ).filter((s): s is StagedItem => s !== undefined);
    await runs.setItemFields(runId, failures);
    let sent = 0;
    if (staged.length > 0) {
      const stagedBatch: StagedBatch = { runId, items: staged };
      const batchBlob = await staging.putBatch(runId, 'staged', batchName(message.body.pageBlob), stagedBatch);
      await queues.convert.send({ runId, batchBlob, items: staged.length });
      sent = 1;
    }
    await queues.stage.complete(message);
    return { sent, items: staged.length };
  }));
  return batchResult(batch, total);
}
