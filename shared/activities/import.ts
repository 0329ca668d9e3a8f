/**
 * The import stage: one chain of import messages per mailbox of the run (so
 * one step per mailbox is in flight at a time, paced at the mailbox's
 * ceiling), many mailboxes at once. A step reads the next pending units of
 * its mailbox straight from their rows (a row-key range, emails included),
 * imports them, records their outcomes by transaction, and hands the chain on.
 *
 * The chain's step is kept in the mailbox's plan row: a step carries the
 * chain on only by moving that row conditionally, so a message redelivered
 * while its first activity still runs never makes a second chain. Units
 * another worker held, and units Graph failed only transiently (past a call's
 * retry budget), are tried again by sweeps at the end of the mailbox, half a
 * lease apart; after two hours one last pass makes their outcomes stand
 * (`held-by-other`, or the Graph failure).
 */
import { queueDelayInSeconds, withRenewedLease, type StageMessage } from '../platform/queues';
import type { ImportableUnit, RunUnitRow, StoredUnit } from '../run/runs';
import type { ArchivedEmail, ImportUnit, UnitResult } from '../model/stages';
import { batchResult, forEachMessage, type MessageDone } from './batch';
import type { ConvertedBatch, ImportMessage, PlanImportResult, RunRef, StageBatchResult } from '../run/messages';
import type { ActivityContext } from './types';

/** Units handed to the importer at once, between checks of the activity's time budget. */
const IMPORT_STEP_UNITS = 32;
/**
 * How long units left for later are swept for before a last pass makes their
 * outcomes stand (× RETRY_TIME_SCALE). A holder renews its claim only while
 * it is alive and working, and every Graph call it makes has a bounded retry
 * budget, so a unit is held this long only by a defect; Graph failing for two
 * hours is an outage worth reporting.
 */
export const HELD_GIVE_UP_IN_MS = 2 * 60 * 60_000;

/** Starts one import chain per mailbox that has units in the run (a retried plan starts again only chains that never moved). */
export async function planImport({ deps }: ActivityContext, { runId }: RunRef): Promise<PlanImportResult> {
  const { runs } = deps;
  const queues = deps.queues.of(runId);
  let mailboxes = 0;
  for (const planned of await runs.listPlannedMailboxes(runId)) {
    // The first message may have been lost with the worker that started the chain; a second one is harmless.
    if (!(await runs.startChain(runId, planned.mailboxId)) && planned.moved) continue;
    await queues.import.send({ runId, mailboxId: planned.mailboxId, mailbox: planned.mailbox, step: 0, pass: 0 });
    mailboxes++;
  }
  return { mailboxes };
}

/**
 * The outcome row a result records; undefined while the unit is left for a
 * later pass (held by another worker, or failed only transiently), except on
 * the last pass, where every outcome stands.
 */
function outcomeRow(row: RunUnitRow, result: UnitResult, last: { heldSince: string } | undefined): RunUnitRow | undefined {
  if (result.outcome === 'held') {
    return last ? { ...row, outcome: 'failed', reason: 'held-by-other', detail: `another worker held the unit since ${last.heldSince}` } : undefined;
  }
  if (result.outcome === 'failed' && result.transient && !last) return undefined;
  if (result.outcome === 'partial' || result.outcome === 'failed') return { ...row, outcome: result.outcome, reason: result.reason, detail: result.detail };
  return { ...row, outcome: result.outcome };
}

/** The emails of units whose email is in their converted batch rather than their row (long ones), one read per batch. */
async function withEmails(context: ActivityContext, units: ImportableUnit[]): Promise<(ImportableUnit & { email: ArchivedEmail })[]> {
  const batches = new Map<string, Promise<ConvertedBatch>>();
  return Promise.all(
    units.map(async (u) => {
      if (u.email) return u as ImportableUnit & { email: ArchivedEmail };
      if (!batches.has(u.emailIn!)) batches.set(u.emailIn!, context.deps.staging.readBatch<ConvertedBatch>(u.emailIn!));
      const found = (await batches.get(u.emailIn!)!).items.find((i) => i.itemKey === u.row.itemKey);
      if (!found) throw new RangeError(`converted batch ${u.emailIn} has no item ${u.row.itemKey}`);
      return { ...u, email: found.email };
    }),
  );
}

/** Imports `units` in small steps until the deadline; returns how many it reached and whether any was left for a later pass. */
async function importUnits(context: ActivityContext, message: ImportMessage, units: ImportableUnit[], deadline: number): Promise<{ reached: number; held: boolean }> {
  const { deps } = context;
  const mailbox = { objectId: message.mailboxId, userPrincipalName: message.mailbox };
  let reached = 0;
  let held = false;
  while (reached < units.length && Date.now() < deadline) {
    const step = await withEmails(context, units.slice(reached, reached + IMPORT_STEP_UNITS));
    const todo: ImportUnit[] = step.map((u) => ({ itemKey: u.row.itemKey, itemId: u.row.itemId, itemType: u.row.type, email: u.email }));
    const results = await deps.importer().importUnits(message.runId, mailbox, todo);
    const updates: { unit: RunUnitRow; known: StoredUnit }[] = [];
    for (const result of results) {
      const stored = step.find((u) => u.row.itemKey === result.itemKey)!;
      const row = outcomeRow(stored.row, result, message.lastPass ? { heldSince: message.heldSince ?? '' } : undefined);
      if (row) updates.push({ unit: row, known: stored });
      else held = true;
    }
    await deps.runs.setUnitOutcomes(message.runId, updates);
    reached += step.length;
  }
  return { reached, held };
}

/** Carries the chain on to `next`, unless another worker already did. */
async function carryOn(context: ActivityContext, message: ImportMessage, next: ImportMessage, delayInSeconds = 0): Promise<number> {
  const { runs } = context.deps;
  if (!(await runs.advanceChain(message.runId, message.mailboxId, message.step, next.step, next))) return 0;
  await context.deps.queues.of(message.runId).import.send(next, delayInSeconds);
  return 1;
}

/** One step of a mailbox's chain: its next pending units; then the chain goes on, sweeps, or ends. */
async function importChainStep(context: ActivityContext, message: StageMessage<ImportMessage>): Promise<MessageDone> {
  const { deps } = context;
  const { runs, settings } = deps;
  const queue = deps.queues.of(message.body.runId).import;
  const body = message.body;
  const chain = await runs.chain<ImportMessage>(body.runId, body.mailboxId);
  if (chain !== undefined && chain.step > body.step) {
    // A redelivered message whose step was finished and carried on. If it was this very step, the worker
    // may have died before it sent the next message: send it again (a second copy carries the chain on once).
    if (chain.from === body.step && chain.next) await queue.send(chain.next);
    await queue.complete(message);
    return { sent: 0, items: 0 };
  }
  const limit = settings.IMPORT_UNITS_PER_ACTIVITY;
  const units = await runs.listStoredUnits(body.runId, body.mailboxId, { after: body.after, pendingOnly: true, limit, withEmail: true });
  // Small steps under a time budget: big items paced at 150 MB per 5 minutes must not outrun the function timeout.
  const deadline = Date.now() + settings.IMPORT_ACTIVITY_BUDGET_SECONDS * 1000;
  const { reached, held } = await importUnits(context, body, units, deadline);
  const heldInPass = !!body.held || held;
  let sent = 0;
  if (reached < units.length || units.length === limit) {
    // More of the mailbox to walk (or the budget ran out): the next step starts after the last unit reached.
    const after = reached > 0 ? units[reached - 1].row.itemKey : body.after;
    sent = await carryOn(context, body, { ...body, step: body.step + 1, after, held: heldInPass });
  } else if (heldInPass && !body.lastPass) {
    // The end of the mailbox, with units left for later: sweep again from the start, a while later; past the
    // give-up time, one last pass, in which every outcome stands.
    const heldSince = body.heldSince ?? new Date().toISOString();
    const lastPass = Date.now() - Date.parse(heldSince) > HELD_GIVE_UP_IN_MS * settings.RETRY_TIME_SCALE;
    const delay = queueDelayInSeconds((settings.IMPORT_LEASE_SECONDS * settings.RETRY_TIME_SCALE) / 2);
    sent = await carryOn(context, body, { ...body, step: body.step + 1, pass: body.pass + 1, after: undefined, held: false, heldSince, ...(lastPass ? { lastPass } : {}) }, delay);
  }
  await queue.complete(message);
  return { sent, items: reached };
}

/** Takes up to IMPORT_MAILBOXES_PER_ACTIVITY mailboxes' next steps and runs them side by side. */
export async function importMailboxes(context: ActivityContext, { runId }: RunRef): Promise<StageBatchResult> {
  const { deps, leaseRenewalInMs } = context;
  const { runs, settings } = deps;
  const queue = deps.queues.of(runId).import;
  const batch = await queue.receive(settings.IMPORT_MAILBOXES_PER_ACTIVITY);
  for (const message of batch.poisoned) {
    // A poisoned step ends its chain: the units of the mailbox still pending fail; outcomes already recorded stand.
    const still = await runs.listStoredUnits(runId, message.body.mailboxId, { pendingOnly: true });
    await runs.setUnitOutcomes(runId, still.map((u) => ({ unit: { ...u.row, outcome: 'failed', reason: 'poisoned', detail: `import failed ${message.dequeueCount} times` }, known: u })));
    await queue.poison(message, 'poisoned');
  }
  const total = await forEachMessage(context, queue, batch.fresh, (message) => withRenewedLease(queue, message, leaseRenewalInMs, () => importChainStep(context, message)));
  return batchResult(batch, total);
}
