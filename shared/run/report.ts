/**
 * The run report (contracts/run-report.md): computed from the run's item and
 * unit rows, so it balances by construction, and written as JSON with a CSV
 * of its failures.
 */
import { csvLine } from '../platform/csv';
import type { ItemType } from '../model/item';
import type { RunItemRow, RunRecord, RunStatus, RunTrigger, RunUnitRow } from './runs';

export interface ReportCounts {
  sourceItems: number;
  routedItems: number;
  tooLarge: number;
  unmapped: number;
  invalid: number;
  itemFailed: number;
  importUnits: number;
  imported: number;
  partial: number;
  duplicates: number;
  failed: number;
}

export interface ReportFailure {
  itemId: string | null;
  type: ItemType | 'unknown';
  mailbox: string | null;
  /** One of the registry's reasons (shared/model/reasons.ts), as the outcome row recorded it. */
  reason: string;
  detail: string;
}

export interface RunReport {
  runId: string;
  trigger: RunTrigger;
  window: { from: string; to: string };
  startedAt: string;
  finishedAt: string | null;
  status: RunStatus;
  counts: ReportCounts;
  failures: ReportFailure[];
  unmappedNumbers: { phone: string; items: number }[];
  error?: string;
  /** The project's extension: where reading started (earlier than window.from for a timer run's settle re-read). */
  readFrom?: string;
  redriveOf?: string;
}

/** Zeroed counts. */
export function emptyCounts(): ReportCounts {
  return {
    sourceItems: 0, routedItems: 0, tooLarge: 0, unmapped: 0, invalid: 0, itemFailed: 0,
    importUnits: 0, imported: 0, partial: 0, duplicates: 0, failed: 0,
  };
}

const ITEM_COUNT: Record<string, keyof ReportCounts> = {
  routed: 'routedItems', tooLarge: 'tooLarge', unmapped: 'unmapped', invalid: 'invalid', itemFailed: 'itemFailed',
};
const UNIT_COUNT: Record<string, keyof ReportCounts> = {
  imported: 'imported', partial: 'partial', duplicate: 'duplicates', failed: 'failed',
};

export interface BuildReportOptions {
  /** True once every stage is drained: an item or unit still without an outcome is then a failure, not in progress. */
  final: boolean;
  finishedAt?: string;
  runErrors?: string[];
}

/** Builds the report of a run from its rows. */
export function buildReport(run: RunRecord, items: readonly RunItemRow[], units: readonly RunUnitRow[], options: BuildReportOptions): RunReport {
  const counts = emptyCounts();
  const failures: ReportFailure[] = [];
  const numbers = new Map<string, number>();
  let open = 0;
  const sortedItems = [...items].sort((a, b) => (a.itemId ?? '').localeCompare(b.itemId ?? '') || a.itemKey.localeCompare(b.itemKey));
  for (const item of sortedItems) {
    counts.sourceItems++;
    let outcome = item.outcome;
    let reason = item.reason;
    let detail = item.detail;
    if (!outcome) {
      if (!options.final) {
        open++;
        continue;
      }
      // Drained yet without an outcome: it must be seen, never silently dropped.
      outcome = 'itemFailed';
      reason = 'no-outcome';
      detail = 'the item left the pipeline without an outcome';
    }
    counts[ITEM_COUNT[outcome]]++;
    if (outcome !== 'routed') {
      failures.push({ itemId: item.itemId, type: item.type, mailbox: null, reason: reason ?? outcomeReason(outcome), detail: detail ?? '' });
    }
    if (outcome === 'unmapped') {
      for (const phone of new Set(item.unmappedNumbers ?? [])) numbers.set(phone, (numbers.get(phone) ?? 0) + 1);
    }
  }
  const sortedUnits = [...units].sort((a, b) => a.itemId.localeCompare(b.itemId) || a.mailbox.localeCompare(b.mailbox));
  for (const unit of sortedUnits) {
    counts.importUnits++;
    let { outcome, reason, detail } = unit;
    if (outcome === 'pending') {
      if (!options.final) {
        open++;
        continue;
      }
      outcome = 'failed';
      reason = 'no-outcome';
      detail = 'the unit was never imported';
    }
    counts[UNIT_COUNT[outcome]]++;
    if (outcome === 'partial' || outcome === 'failed') {
      failures.push({ itemId: unit.itemId, type: unit.type, mailbox: unit.mailbox, reason: reason ?? outcome, detail: detail ?? '' });
    }
  }
  const errors = options.runErrors ?? [];
  let status: RunStatus;
  if (errors.length > 0) status = 'failed';
  else if (!options.final || open > 0) status = 'running';
  else if (counts.itemFailed + counts.partial + counts.failed > 0) status = 'completed-with-failures';
  else status = 'completed';
  const report: RunReport = {
    runId: run.runId,
    trigger: run.trigger,
    window: run.window,
    startedAt: run.startedAt,
    finishedAt: status === 'running' ? null : options.finishedAt ?? null,
    status,
    counts,
    failures,
    unmappedNumbers: [...numbers].map(([phone, n]) => ({ phone, items: n })).sort((a, b) => b.items - a.items || a.phone.localeCompare(b.phone)),
    readFrom: run.readFrom,
  };
  if (errors.length > 0) report.error = errors.join('; ');
  if (run.redriveOf) report.redriveOf = run.redriveOf;
  return report;
}

function outcomeReason(outcome: string): string {
  return outcome === 'tooLarge' ? 'too-large' : outcome;
}

/** Checks the report's two balance equations; returns what does not balance. */
export function checkBalance(counts: ReportCounts): string[] {
  const problems: string[] = [];
  const items = counts.routedItems + counts.tooLarge + counts.unmapped + counts.invalid + counts.itemFailed;
  if (counts.sourceItems !== items) problems.push(`sourceItems ${counts.sourceItems} != item outcomes ${items}`);
  const units = counts.imported + counts.partial + counts.duplicates + counts.failed;
  if (counts.importUnits !== units) problems.push(`importUnits ${counts.importUnits} != unit outcomes ${units}`);
  return problems;
}

/** The failures CSV: RFC 4180 quoting, and no cell a spreadsheet would run as a formula (shared/platform/csv.ts). */
export function failuresCsv(report: RunReport): string {
  const rows = [['itemId', 'type', 'mailbox', 'reason', 'detail']];
  for (const f of report.failures) rows.push([f.itemId ?? '', f.type, f.mailbox ?? '', f.reason, f.detail]);
  return rows.map(csvLine).join('\r\n') + '\r\n';
}
