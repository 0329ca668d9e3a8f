/**
 * Table storage in bulk: entities of one partition written by transactions
 * of up to 100 (Azure's limit, 4 MB a transaction), so that a batch of items
 * costs a request per hundred rows, not one per row. A transaction is all or
 * nothing; when one fails (a row that exists already, an ETag that moved),
 * its chunk falls back to the caller's row-by-row path, which decides per row.
 */
import { RestError, type TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';

/** Azure's limit of entities in one table transaction. */
export const TRANSACTION_LIMIT = 100;
/** Azure's limit of a transaction's payload, with room for the envelope. */
const TRANSACTION_BYTES = 3_500_000;

/** The HTTP status of a storage error, or undefined. */
export function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : (error as { statusCode?: number })?.statusCode;
}

/**
 * True for a failure a retry may mend: storage or a network answering 408,
 * 429 or 5xx, or not answering at all (reset, timeout, refused).
 */
export function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^(ECONNRESET|ETIMEDOUT|ECONNREFUSED|EPIPE|ENOTFOUND|EAI_AGAIN|REQUEST_SEND_ERROR)$/.test(code);
}

/** True when `error` is a storage error with one of `statuses`. */
export function isStatus(error: unknown, ...statuses: number[]): boolean {
  const status = statusOf(error);
  return status !== undefined && statuses.includes(status);
}

/** Splits actions into transactions under both limits (count and bytes). */
function chunks(actions: readonly TransactionAction[]): TransactionAction[][] {
  const out: TransactionAction[][] = [];
  let current: TransactionAction[] = [];
  let bytes = 0;
  for (const action of actions) {
    const size = JSON.stringify(action[1]).length * 2;
    if (current.length > 0 && (current.length >= TRANSACTION_LIMIT || bytes + size > TRANSACTION_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(action);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Submits `actions` (all of one partition) as transactions; a chunk the
 * service refuses with one of `fallbackOn` (409 exists, 412 changed, 404 gone)
 * is handed to `fallback` row by row instead. Other errors are thrown.
 */
export async function submitAll(
  table: TableClient,
  actions: readonly TransactionAction[],
  fallback: (action: TransactionAction) => Promise<void>,
  fallbackOn: readonly number[] = [409, 412, 404],
): Promise<void> {
  for (const chunk of chunks(actions)) {
    if (chunk.length === 1) {
      await fallback(chunk[0]);
      continue;
    }
    try {
      await table.submitTransaction(chunk);
    } catch (error) {
      if (!isStatus(error, ...fallbackOn)) throw error;
      for (const action of chunk) await fallback(action);
    }
  }
}

/** Every entity a query returns, page after page. */
export async function listAll<T extends object>(table: TableClient, filter: string, select?: string[]): Promise<(TableEntity<T> & { etag: string })[]> {
  const rows: (TableEntity<T> & { etag: string })[] = [];
  for await (const e of table.listEntities<T>({ queryOptions: { filter, ...(select ? { select } : {}) } })) rows.push(e as TableEntity<T> & { etag: string });
  return rows;
}

/** An OData string literal for a table filter. */
export function odataQuote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Table keys may not hold / \ # ? or control characters. */
export function safeKey(value: string): string {
  return value.replace(/[/\\#?\u0000-\u001f\u007f]/g, '_');
}
