/**
 * Imports units into one mailbox, exactly once each. The ledger decides who
 * imports a unit; the claim is renewed while its worker works and checked
 * before every write to the mailbox; a unit whose earlier worker may have
 * left a copy is looked up in the archive folder first; and clean-up removes
 * copies for good, never the one the ledger records.
 *
 * How each way a unit can go ends (docs/architecture.md, "The ledger"):
 * - done: the copy is recorded (`complete`), after any copy a losing worker
 *   handed over is removed;
 * - a failure while the claim holds: this worker's copy is removed, and the
 *   claim is released with `copyMayExist` kept, so the next worker looks first;
 * - the claim lost to another worker: this worker's copy is handed over to the
 *   holder, or removed when the unit is already final with another copy; the
 *   unit is `held` (the holder's outcome decides), never failed.
 */
import { randomUUID } from 'node:crypto';
import type { FailureReason } from '../../model/reasons';
import { describeError, isArchiverError } from '../../model/errors';
import type { GraphClient } from '../../platform/graph/client';
import { createFolderResolver } from '../../platform/graph/mailbox';
import { isGraphRequestError, isTransientGraphFailure, type GraphRequestError } from '../../platform/graph/errors';
import type { ClaimResult, CompleteOptions, Ledger, LedgerEntry, TakenOver, TimedClaim } from './ledger';
import type { ImportUnit, MailboxImporter, ResolvedMailbox, UnitResult } from '../../model/stages';
import { withinLargeItemBudget } from '../../platform/largeItems';
import { HeldUnit, UnitLostError } from './claim';
import { findCopies, hasAllAttachments, removeCopy, settleSince } from './copies';
import { importJson, maybeApplied } from './json';
import { importMime, markImported } from './mime';
import { createMailboxGate, GRAPH_MAX_CONCURRENT_PER_MAILBOX, GRAPH_REQUESTS_PER_10_MIN, GRAPH_UPLOAD_BYTES_PER_5_MIN, type MailboxGate } from './pacing';
import type { ImportLogEvent, ImportMode, ImportStaging, UnitCalls, UnitWork } from './work';

export type { ImportLogEvent, ImportStaging } from './work';
export { hasAllAttachments } from './copies';

export interface MailboxImporterOptions {
  folderName: string;
  importMode?: ImportMode;
  /** Graph requests in flight at once per mailbox (1..4). */
  maxConcurrentPerMailbox?: number;
  requestsPer10Min?: number;
  uploadBytesPer5Min?: number;
  /** Scales pacing windows, waits, the lease and the settle period (RETRY_TIME_SCALE). */
  timeScale?: number;
  /** How long a claim holds unless renewed; default IMPORT_LEASE_SECONDS' 300 s × timeScale. */
  leaseInMs?: number;
  /** How much of the lease must be left when a write starts; default half the lease. */
  leaseMarginInMs?: number;
  /** How long to wait for a unit another worker holds before leaving it `held` for later; default a quarter of the lease. */
  heldWaitInMs?: number;
  /** How long after a copy may have landed a look-up that finds nothing is believed; default 10 s × timeScale. */
  lookupSettleInMs?: number;
  /** Identifies this worker in the ledger; a fresh id per importUnits call by default. */
  owner?: string;
  sleep?: (ms: number) => Promise<void>;
  /** Structured events for logs: ids and counts only, never message text or addresses. */
  log?: (event: ImportLogEvent) => void;
}

export interface MailboxImporterDeps {
  graph: GraphClient;
  ledger: Ledger;
  staging: ImportStaging;
  options: MailboxImporterOptions;
}

/** Graph codes with which a mailbox (not an item in it) is unknown. */
const MAILBOX_MISSING_CODES = new Set(['ErrorInvalidUser', 'MailboxNotEnabledForRESTAPI', 'ResourceNotFound', 'Request_ResourceNotFound', 'ErrorNonExistentMailbox']);

function mailboxMissing(error: unknown): boolean {
  return isGraphRequestError(error) && error.statusCode === 404;
}

/** A unit imported into the mailbox, to be recorded in the ledger with the rest of its step. */
interface ToRecord {
  toRecord: true;
  work: UnitCalls & { unit: ImportUnit };
  held: HeldUnit;
  state: 'imported' | 'partial';
  messageId: string;
  runId: string;
  /** What the unit's result is once it is recorded. */
  done: UnitResult;
  copyMayRemain: boolean;
}

/** Rounds of removing handed-over copies before a unit is recorded. */
const RECORD_ROUNDS = 10;

function failed(unit: ImportUnit, reason: FailureReason, detail: string, transient = false): UnitResult {
  return { itemKey: unit.itemKey, outcome: 'failed', reason, detail, ...(transient ? { transient } : {}) };
}

/** A graph-error, marked transient when a later attempt could change it (the import chain then tries again on a later pass). */
function graphFailed(unit: ImportUnit, error: GraphRequestError, prefix = ''): UnitResult {
  return failed(unit, 'graph-error', `${prefix}${error.detail}`, isTransientGraphFailure(error));
}

/** What this run reports for a unit the ledger shows final. */
function finalResult(unit: ImportUnit, runId: string, entry: { state: 'imported' | 'partial'; runId: string; graphMessageId?: string }): UnitResult {
  if (entry.runId !== runId) return { itemKey: unit.itemKey, outcome: 'duplicate', graphMessageId: entry.graphMessageId };
  // This run finished it before (a retried activity, or another worker of the run): report what it was.
  return entry.state === 'partial'
    ? { itemKey: unit.itemKey, outcome: 'partial', reason: 'attachment-refused', detail: 'partially imported earlier in this run', graphMessageId: entry.graphMessageId }
    : { itemKey: unit.itemKey, outcome: 'imported', graphMessageId: entry.graphMessageId };
}

function isFinalEntry(entry: LedgerEntry | undefined): entry is LedgerEntry & { state: 'imported' | 'partial' } {
  return entry !== undefined && entry.state !== 'claimed';
}

/** Builds the importer of units into mailboxes (one gate per mailbox, shared by concurrent calls). */
export function createMailboxImporter(deps: MailboxImporterDeps): MailboxImporter {
  const { graph, ledger, staging } = deps;
  const o = deps.options;
  const timeScale = o.timeScale ?? 1;
  const maxConcurrent = Math.min(o.maxConcurrentPerMailbox ?? GRAPH_MAX_CONCURRENT_PER_MAILBOX, GRAPH_MAX_CONCURRENT_PER_MAILBOX);
  const leaseInMs = o.leaseInMs ?? Math.max(500, 300_000 * timeScale);
  const marginInMs = o.leaseMarginInMs ?? leaseInMs / 2;
  const heldWaitInMs = o.heldWaitInMs ?? leaseInMs / 4;
  const settleInMs = o.lookupSettleInMs ?? 10_000 * timeScale;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const log = o.log ?? (() => undefined);
  const importMode: ImportMode = o.importMode ?? 'json';
  const folders = createFolderResolver(graph);
  const gates = new Map<string, MailboxGate>();

  function gateFor(mailboxId: string): MailboxGate {
    let gate = gates.get(mailboxId);
    if (!gate) {
      gate = createMailboxGate({
        maxConcurrent,
        requestsPer10Min: o.requestsPer10Min ?? GRAPH_REQUESTS_PER_10_MIN,
        uploadBytesPer5Min: o.uploadBytesPer5Min ?? GRAPH_UPLOAD_BYTES_PER_5_MIN,
        timeScale,
        sleep: o.sleep,
      });
      gates.set(mailboxId, gate);
    }
    return gate;
  }

  /** Claims a unit, waiting (bounded, well under a function's timeout) while another worker holds it. */
  async function claim(mailboxId: string, unit: ImportUnit, runId: string, owner: string): Promise<{ result: ClaimResult; claimedAt: number }> {
    const started = Date.now();
    for (;;) {
      const claimedAt = Date.now();
      const result = await ledger.claim(mailboxId, unit.itemKey, { runId, owner, leaseInMs });
      if (result.outcome !== 'held-by-other') return { result, claimedAt };
      const left = heldWaitInMs - (Date.now() - started);
      if (left <= 0) return { result, claimedAt };
      const untilExpiry = Date.parse(result.leaseExpiresAt) - Date.now();
      await sleep(Math.max(1, Math.min(left, Math.max(untilExpiry, 1), 5_000 * Math.max(timeScale, 0.01))));
    }
  }

  /** Records the unit, removing first any copy a worker that lost the unit handed over. */
  async function record(work: UnitWork, held: HeldUnit, state: 'imported' | 'partial', messageId: string, recordRunId: string): Promise<void> {
    for (let round = 0; round < RECORD_ROUNDS; round++) {
      const result = await held.complete(state, messageId, recordRunId);
      if (result === 'completed') return;
      for (const orphan of result.orphans) {
        await removeCopy(work, orphan);
        held.removedOrphan(orphan);
      }
    }
    throw new UnitLostError(work.unit.itemKey, undefined);
  }

  /**
   * After a takeover: what the earlier worker left in the archive folder
   * decides. A complete copy is kept, every other one removed for good.
   * Returns the id of the copy kept, if any.
   */
  async function recover(work: UnitWork, held: HeldUnit, takenOver: TakenOver): Promise<string | undefined> {
    // Whatever the earlier worker created landed before its lease ran out.
    await settleSince(work, Date.parse(takenOver.leaseExpiresAt));
    const found = await findCopies(work);
    const keep = found.find((m) => hasAllAttachments(m, work.email.attachments));
    for (const m of found) {
      if (m === keep) continue;
      await removeCopy(work, m.id);
      held.removedOrphan(m.id);
    }
    if (!keep) return undefined;
    if (work.importMode === 'importMime') await markImported(work, keep.id);
    return keep.id;
  }

  /** The claim went to another worker: hand this worker's copy over to it, or remove it when the unit is final with another. */
  async function lost(work: UnitCalls, runId: string, error: UnitLostError): Promise<UnitResult> {
    const { unit, mailboxId } = work;
    const copy = work.created.messageId;
    log({ event: 'unit-lost', mailboxId, itemKey: unit.itemKey });
    let entry = error.entry;
    if (copy) {
      const handed = await ledger.handOver(mailboxId, unit.itemKey, copy);
      if (handed.outcome === 'handed-over') return { itemKey: unit.itemKey, outcome: 'held', detail: 'another worker took the unit over; this worker handed its copy over' };
      entry = handed.entry;
      // Final with another copy (or no row at all): nobody else will ever remove this one.
      if (entry?.graphMessageId !== copy) await removeCopy(work, copy, work.read);
    }
    if (isFinalEntry(entry)) return finalResult(unit, runId, entry);
    return { itemKey: unit.itemKey, outcome: 'held', detail: 'another worker took the unit over' };
  }

  function unitFailure(unit: ImportUnit, error: unknown): UnitResult {
    if (mailboxMissing(error) && MAILBOX_MISSING_CODES.has((error as GraphRequestError).graphCode ?? '')) {
      return failed(unit, 'mailbox-not-found', (error as GraphRequestError).detail);
    }
    if (isGraphRequestError(error)) return graphFailed(unit, error);
    if (isArchiverError(error, 'MEDIA_CHECKSUM_MISMATCH')) return failed(unit, 'media-checksum-mismatch', describeError(error));
    if (isArchiverError(error, 'MEDIA_MISSING')) return failed(unit, 'media-missing', describeError(error));
    if (isArchiverError(error)) return failed(unit, 'graph-error', describeError(error));
    throw error; // a defect or a storage outage: worth the activity's own retry
  }

  /**
   * A unit failed while this worker may still hold it. Its own copy goes, for
   * good, unless the ledger records it after all (a complete whose answer was
   * lost); the claim is released remembering whether a copy may be left.
   */
  async function failure(work: UnitCalls, held: HeldUnit, runId: string, error: unknown, copyMayRemain: boolean): Promise<UnitResult> {
    const { unit, mailboxId } = work;
    if (error instanceof UnitLostError) return lost(work, runId, error);
    const copy = work.created.messageId;
    if (copy) {
      try {
        const entry = await ledger.get(mailboxId, unit.itemKey);
        if (isFinalEntry(entry) && entry.graphMessageId === copy) {
          held.stop();
          return finalResult(unit, runId, entry);
        }
        await removeCopy(work, copy);
      } catch (cleanUp) {
        if (cleanUp instanceof UnitLostError) return lost(work, runId, cleanUp);
        // Not removed: the claim's `copyMayExist` sends the next worker to look.
      }
    }
    const copyMayExist = copyMayRemain || work.created.messageId !== undefined || (work.created.sent && maybeApplied(error));
    await held.release(copyMayExist).catch(() => undefined);
    const result = unitFailure(unit, error);
    log({ event: 'unit-failed', mailboxId, itemKey: unit.itemKey, detail: result.outcome === 'failed' ? `${result.reason}: ${result.detail}` : undefined });
    return result;
  }

  async function importUnit(runId: string, mailboxId: string, folderId: string, unit: ImportUnit, owner: string, first: TimedClaim | undefined): Promise<UnitResult | ToRecord> {
    const gate = gateFor(mailboxId);
    // The step's claims were asked for together; one held by another worker is waited for (bounded) on its own.
    const { result: claimed, claimedAt } = first && first.result.outcome !== 'held-by-other' ? first : await claim(mailboxId, unit, runId, owner);
    if (claimed.outcome === 'already-imported') return finalResult(unit, runId, claimed);
    if (claimed.outcome === 'held-by-other') {
      return { itemKey: unit.itemKey, outcome: 'held', detail: `another worker holds the unit (lease until ${claimed.leaseExpiresAt})` };
    }
    const held = new HeldUnit({ ledger, mailboxId, itemKey: unit.itemKey, owner, leaseInMs, marginInMs }, claimed, claimedAt);
    held.keepAlive();
    const takenOver = claimed.takenOver;
    // A copy an earlier worker may have left stays possible until a look-up has settled it.
    let copyMayRemain = !!takenOver && (takenOver.copyMayExist || takenOver.orphans.length > 0);
    const calls: UnitCalls = {
      graph, staging, mailboxId, folderId, unit, importMode, settleInMs, timeScale, sleep, log,
      read: { gate },
      write: { gate, beforeAttempt: () => held.guard() },
      created: { sent: false },
    };
    try {
      const work: UnitWork = { ...calls, email: unit.email };
      if (takenOver && copyMayRemain) {
        const kept = await recover(work, held, takenOver);
        // Settled by the look-up: nothing is left but the copy kept, if any (which stays until it is recorded).
        copyMayRemain = kept !== undefined;
        if (kept) {
          // The earlier worker's copy is the record; the run it worked for imported it.
          await record(work, held, 'imported', kept, takenOver.runId);
          log({ event: 'unit-recovered', mailboxId, itemKey: unit.itemKey });
          return { itemKey: unit.itemKey, outcome: takenOver.runId === runId ? 'imported' : 'duplicate', graphMessageId: kept };
        }
      }
      const imported = importMode === 'importMime' ? await importMime(work) : await importJson(work);
      const state = imported.missing.length ? 'partial' : 'imported';
      const done: UnitResult = state === 'partial'
        ? {
            itemKey: unit.itemKey, outcome: 'partial', reason: 'attachment-refused', graphMessageId: imported.messageId,
            detail: `${imported.missing.length} attachment(s) refused: ` + imported.missing.map((m) => `${m.fileName} ${m.size} bytes sha256 ${m.sha256} (${m.reason})`).join('; '),
          }
        : { itemKey: unit.itemKey, outcome: 'imported', graphMessageId: imported.messageId };
      // Recorded with the rest of the step, in one transaction (see importUnits); the claim stays renewed till then.
      return { toRecord: true, work: calls, held, state, messageId: imported.messageId, runId, done, copyMayRemain };
    } catch (error) {
      held.stop();
      return await failure(calls, held, runId, error, copyMayRemain);
    }
  }

  /**
   * Records the step's imported units: those ready together in one
   * transaction; any the transaction cannot take (a loser handed a copy
   * over, a row that moved) on its own, which may still find it lost.
   */
  async function recordAll(mailboxId: string, ready: ToRecord[]): Promise<Map<string, UnitResult>> {
    const results = new Map<string, UnitResult>();
    const batch: (CompleteOptions & { itemKey: string })[] = [];
    for (const r of ready) {
      const etag = ready.length > 1 ? await r.held.readyForBatch(r.messageId) : undefined;
      if (etag !== undefined) batch.push({ itemKey: r.done.itemKey, owner: r.held.owner, etag, runId: r.runId, state: r.state, graphMessageId: r.messageId });
    }
    const completed = batch.length > 1 ? await ledger.completeMany(mailboxId, batch) : new Set<string>();
    for (const r of ready) {
      const key = r.done.itemKey;
      try {
        if (!completed.has(key)) {
          r.held.keepAlive();
          await record({ ...r.work, email: r.work.unit.email }, r.held, r.state, r.messageId, r.runId);
        }
        log({ event: 'unit-done', mailboxId, itemKey: key, detail: r.state });
        results.set(key, r.done);
      } catch (error) {
        results.set(key, await failure(r.work, r.held, r.runId, error, r.copyMayRemain));
      } finally {
        r.held.stop();
      }
    }
    return results;
  }

  return {
    async importUnits(runId, mailbox: ResolvedMailbox, units) {
      const mailboxId = mailbox.objectId;
      const owner = o.owner ?? `${runId}:${randomUUID()}`;
      let folderId: string;
      try {
        folderId = await folders.ensureFolder(mailboxId, o.folderName, { gate: gateFor(mailboxId) });
      } catch (error) {
        if (mailboxMissing(error)) {
          log({ event: 'mailbox-not-found', mailboxId, detail: (error as GraphRequestError).detail });
          return units.map((u) => failed(u, 'mailbox-not-found', (error as GraphRequestError).detail));
        }
        if (isGraphRequestError(error)) return units.map((u) => graphFailed(u, error, 'mail folder: '));
        throw error;
      }
      // The step's units are claimed together (new ones in one transaction), imported side by side up to
      // the mailbox's concurrency (the gate bounds the requests themselves), then recorded together.
      const claims = await ledger.claimMany(mailboxId, units.map((u) => u.itemKey), { runId, owner, leaseInMs });
      const outcomes: (UnitResult | ToRecord)[] = new Array(units.length);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < units.length; i = next++) {
          // A large unit waits for the process's budget of large items (shared/platform/largeItems.ts). Its claim is checked
          // before every write, so a wait past the lease costs a takeover by another worker, never a second copy.
          outcomes[i] = await withinLargeItemBudget(units[i].email.emlSizeInBytes ?? 0, () => importUnit(runId, mailboxId, folderId, units[i], owner, claims.get(units[i].itemKey)));
        }
      };
      await Promise.all(Array.from({ length: Math.min(maxConcurrent, units.length) }, worker));
      const recorded = await recordAll(mailboxId, outcomes.filter((o): o is ToRecord => 'toRecord' in o));
      return outcomes.map((o) => ('toRecord' in o ? recorded.get(o.done.itemKey)! : o));
    },
  };
}
