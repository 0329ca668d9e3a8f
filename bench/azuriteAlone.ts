/**
 * The request rate Azurite sustains on its own for a given mix of operations:
 * each operation the pipeline sent is sent again, alone, shaped like the
 * pipeline's (same average body, same entities per table batch, same size of
 * what is read back), by many clients at once, and timed; the mix's rate is
 * its requests over the time Azurite needs to serve each kind in its
 * proportion. Measured against the same Azurite the day ran on, right after
 * it, so the blob and row counts that slow Azurite down are the day's own.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { TableClient, type TransactionAction } from '@azure/data-tables';
import type { OperationCount } from './requests';

export interface KindRate {
  /** Requests the pipeline sent of this kind. */
  requests: number;
  /** Requests per second Azurite served of it alone. */
  perSecond: number;
}

export interface AzuriteAloneResult {
  /** Requests per second for the whole mix. */
  perSecond: number;
  kinds: Record<string, KindRate>;
  /** Kinds the pipeline sent that are not replayed (their share of requests is left out of the mix). */
  skipped: Record<string, number>;
}

type Operation = (i: number) => Promise<unknown>;

const CONCURRENCY = 16;
const TAGS = { o2retention: 'settled' };

function filler(bytes: number): string {
  return 'x'.repeat(Math.max(1, Math.round(bytes)));
}

/** Runs `operation` `count` times, `CONCURRENCY` at once; requests per second. */
async function rate(count: number, operation: Operation): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await operation(next++);
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** How many of each kind to time: enough to be steady, few enough that the whole measure takes seconds. */
function samples(requests: number): number {
  return Math.max(200, Math.min(1500, requests));
}

/** Measures Azurite alone for `mix` (from the request counter of a pipeline run). */
export async function measureAzuriteAlone(connectionString: string, mix: Record<string, OperationCount>): Promise<AzuriteAloneResult> {
  const suffix = Date.now().toString(36);
  const blobs: ContainerClient = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(`alone-${suffix}`);
  const queue = new QueueClient(connectionString, `alone-${suffix}`);
  const table = TableClient.fromConnectionString(connectionString, `alone${suffix}`, { allowInsecureConnection: true });
  await Promise.all([blobs.create(), queue.create(), table.createTable()]);
  const average = (kind: string, field: 'bodyBytes' | 'responseBytes') => (mix[kind] ? mix[kind][field] / Math.max(1, mix[kind].requests) : 0);

  // What the reads read: blobs the size the pipeline read, rows like its rows, messages like its messages.
  const readSize = average('blob get', 'responseBytes') || 2048;
  const readable = 64;
  await Promise.all(Array.from({ length: readable }, (_, i) => blobs.getBlockBlobClient(`read/${i}`).upload(filler(readSize), Math.round(readSize), { tags: TAGS })));
  const entityBytes = mix['table batch']?.entities ? mix['table batch'].bodyBytes / mix['table batch'].entities - 450 : 300;
  const rows = (partition: string, n: number, from = 0) =>
    Array.from({ length: n }, (_, j): TransactionAction => ['upsert', { partitionKey: partition, rowKey: String(from + j).padStart(6, '0'), data: filler(entityBytes) }]);
  for (let p = 0; p < 8; p++) await table.submitTransaction(rows(`read${p}`, 100));
  const queryRows = Math.max(1, Math.round((average('table query', 'responseBytes') || 2000) / (entityBytes + 200)));
  const messageBytes = average('queue send', 'bodyBytes') || 400;
  const received = Math.max(1, Math.round((average('queue receive', 'responseBytes') || 600) / (messageBytes + 400)));

  const operations: Record<string, { prepare?: (n: number) => Promise<void>; run: Operation }> = {
    'blob put': { run: (i) => blobs.getBlockBlobClient(`put/${i}`).upload(filler(average('blob put', 'bodyBytes')), Math.round(average('blob put', 'bodyBytes')) || 1, { tags: TAGS }) },
    'blob get': { run: (i) => blobs.getBlobClient(`read/${i % readable}`).downloadToBuffer() },
    'blob head': { run: (i) => blobs.getBlobClient(`read/${i % readable}`).getProperties() },
    'blob set tags': { run: (i) => blobs.getBlobClient(`read/${i % readable}`).setTags(TAGS) },
    'blob get tags': { run: (i) => blobs.getBlobClient(`read/${i % readable}`).getTags() },
    'blob set metadata': { run: (i) => blobs.getBlobClient(`read/${i % readable}`).setMetadata({ o2settledat: String(i) }) },
    'blob list': { run: (i) => blobs.listBlobsFlat({ prefix: `read/${i % 6}`, includeTags: true }).byPage({ maxPageSize: 100 }).next() },
    'blob delete': {
      prepare: async (n) => void (await Promise.all(Array.from({ length: n }, (_, i) => blobs.getBlockBlobClient(`gone/${i}`).upload('x', 1)))),
      run: (i) => blobs.getBlobClient(`gone/${i}`).delete(),
    },
    'queue send': { run: () => queue.sendMessage(filler(messageBytes)) },
    'queue receive': {
      prepare: async (n) => {
        for (let i = 0; i < n * received; i += 32) await Promise.all(Array.from({ length: Math.min(32, n * received - i) }, () => queue.sendMessage(filler(messageBytes))));
      },
      run: () => queue.receiveMessages({ numberOfMessages: Math.min(32, received), visibilityTimeout: 300 }),
    },
    'queue delete': {
      prepare: async (n) => {
        pending.length = 0;
        await Promise.all(Array.from({ length: n }, () => queue.sendMessage('d')));
        while (pending.length < n) {
          const got = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 300 });
          if (got.receivedMessageItems.length === 0) break;
          pending.push(...got.receivedMessageItems.map((m) => ({ id: m.messageId, receipt: m.popReceipt })));
        }
      },
      run: (i) => (pending[i] ? queue.deleteMessage(pending[i].id, pending[i].receipt) : queue.getProperties()),
    },
    'queue depth': { run: () => queue.getProperties() },
    'table batch': {
      run: (i) => table.submitTransaction(rows(`batch${i}`, Math.max(1, Math.round(mix['table batch'].entities / mix['table batch'].requests)))),
    },
    'table insert': { run: (i) => table.createEntity({ partitionKey: 'insert', rowKey: String(i), data: filler(average('table insert', 'bodyBytes') - 150) }) },
    'table update': { run: (i) => table.upsertEntity({ partitionKey: `read${i % 8}`, rowKey: String(i % 100).padStart(6, '0'), data: filler(entityBytes) }, 'Merge') },
    'table get': { run: (i) => table.getEntity(`read${i % 8}`, String(i % 100).padStart(6, '0')) },
    'table query': {
      run: (i) =>
        table
          .listEntities({ queryOptions: { filter: `PartitionKey eq 'read${i % 8}' and RowKey ge '${String(i % 50).padStart(6, '0')}'` } })
          .byPage({ maxPageSize: queryRows })
          .next(),
    },
    'table delete': {
      prepare: async (n) => {
        for (let i = 0; i < n; i += 100) await table.submitTransaction(rows('gone', Math.min(100, n - i), i));
      },
      run: (i) => table.deleteEntity('gone', String(i).padStart(6, '0')),
    },
  };
  const pending: { id: string; receipt: string }[] = [];

  const kinds: Record<string, KindRate> = {};
  const skipped: Record<string, number> = {};
  try {
    for (const [kind, count] of Object.entries(mix)) {
      const operation = operations[kind];
      if (!operation) {
        skipped[kind] = count.requests;
        continue;
      }
      const n = samples(count.requests);
      await operation.prepare?.(n);
      kinds[kind] = { requests: count.requests, perSecond: await rate(n, operation.run) };
    }
  } finally {
    await Promise.allSettled([blobs.delete(), queue.delete(), table.deleteTable()]);
  }
  const requests = Object.values(kinds).reduce((s, k) => s + k.requests, 0);
  const seconds = Object.values(kinds).reduce((s, k) => s + k.requests / k.perSecond, 0);
  return { perSecond: requests / seconds, kinds, skipped };
}
