/**
 * The fetch stage: reads one slice of the window from the archive, page by
 * page; each page's raw records go to a blob and one claim check per page to
 * the stage queue.
 */
import { describeError, isArchiverError } from '../model/errors';
import { withRenewedLease } from '../platform/queues';
import { RetryBudgetExhaustedError } from '../platform/retry';
import { batchResult, forEachMessage } from './batch';
import type { RunRef, StageBatchResult } from '../run/messages';
import type { ActivityContext } from './types';

/** Reads one slice of the run's window into staging; a slice the source cannot deliver becomes a run error naming it. */
export async function fetchSlices(context: ActivityContext, { runId }: RunRef): Promise<StageBatchResult> {
  const { deps, log, leaseRenewalInMs } = context;
  const { runs } = deps;
  const queues = deps.queues.of(runId);
  const batch = await queues.fetch.receive(1);
  for (const message of batch.poisoned) {
    const { slice } = message.body;
    await runs.addRunError(runId, `slice-${slice?.index}`, `slice ${slice?.from} .. ${slice?.to} could not be read (poisoned after ${message.dequeueCount} attempts)`);
    await queues.fetch.poison(message, 'poisoned');
  }
  const total = await forEachMessage(context, queues.fetch, batch.fresh, (message) =>
    withRenewedLease(queues.fetch, message, leaseRenewalInMs, async () => {
      const { slice } = message.body;
      let sent = 0;
      let items = 0;
      try {
        let cursor: string | null = null;
        let page = 0;
        do {
          const result = await deps.source().listPage({ from: slice.from, to: slice.to }, cursor);
          if (result.records.length > 0) {
            // Named by delivery, so a redelivered slice never overwrites pages that messages point at.
            const pageBlob = await deps.staging.putRawPage(runId, `${slice.index}-${message.dequeueCount}-${page}`, result.records);
            await queues.stage.send({ runId, pageBlob, records: result.records.length });
            sent++;
            items += result.records.length;
          }
          cursor = result.nextCursor;
          page++;
        } while (cursor);
        log.info(`run ${runId}: slice ${slice.index} read in ${page} page(s)`);
      } catch (e) {
        const sourceFailure = (isArchiverError(e) && e.code.startsWith('SOURCE_')) || e instanceof RetryBudgetExhaustedError;
        if (!sourceFailure) throw e;
        // The source's own retry budget is spent, or it refused us: the slice's items are unknown.
        const login = isArchiverError(e, 'SOURCE_AUTH_FAILED');
        await runs.addRunError(runId, login ? 'login' : `slice-${slice.index}`,
          login ? describeError(e) : `slice ${slice.from} .. ${slice.to} could not be read: ${describeError(e)}`);
        log.error(`run ${runId}: slice ${slice.index} failed: ${describeError(e)}`);
      }
      await queues.fetch.complete(message);
      return { sent, items };
    }),
  );
  return batchResult(batch, total);
}
