/**
 * Storage clients from the one storage setting: a connection string (Azurite,
 * or a key) or, in Azure, the account name with a managed identity.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';
import { storageConnection, type Settings } from './config';

export interface StorageClients {
  blobs: BlobServiceClient;
  queues: QueueServiceClient;
  container(name: string): ContainerClient;
  queue(name: string): QueueClient;
  table(name: string): TableClient;
}

/** Builds the blob, queue and table clients of the app's storage account. */
export function createStorageClients(settings: Settings): StorageClients {
  const connection = storageConnection(settings);
  if ('connectionString' in connection) {
    const cs = connection.connectionString === 'UseDevelopmentStorage=true' ? DEV_STORAGE : connection.connectionString;
    const allowInsecure = /127\.0\.0\.1|localhost/.test(cs);
    const blobs = BlobServiceClient.fromConnectionString(cs);
    const queues = QueueServiceClient.fromConnectionString(cs);
    return {
      blobs,
      queues,
      container: (name) => blobs.getContainerClient(name),
      queue: (name) => queues.getQueueClient(name),
      table: (name) => TableClient.fromConnectionString(cs, name, { allowInsecureConnection: allowInsecure }),
    };
  }
  const credential = new DefaultAzureCredential();
  const account = connection.accountName;
  const blobs = new BlobServiceClient(`https://${account}.blob.core.windows.net`, credential);
  const queues = new QueueServiceClient(`https://${account}.queue.core.windows.net`, credential);
  return {
    blobs,
    queues,
    container: (name) => blobs.getContainerClient(name),
    queue: (name) => queues.getQueueClient(name),
    table: (name) => new TableClient(`https://${account}.table.core.windows.net`, name, credential),
  };
}

/** Azurite's well-known development account on its default ports. */
export const DEV_STORAGE =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;' +
  'AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;' +
  'BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;' +
  'TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;';

/** A blob store for per-run working data (unit lists) and reports. */
export interface BlobPort {
  /** Writes a blob; with `ifAbsent` only when it does not exist yet (the first version stands). */
  putText(container: 'runs' | 'reports', name: string, text: string, contentType: string, options?: { ifAbsent?: boolean }): Promise<void>;
  getText(container: 'runs' | 'reports', name: string): Promise<string>;
}
