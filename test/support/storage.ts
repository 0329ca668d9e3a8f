/** Storage for tests: the Azurite of globalSetup, with names unique to each test. */
import { randomUUID } from 'node:crypto';
import { readSettings, type Settings } from '../../shared/platform/config';
import { createStorageClients, type StorageClients } from '../../shared/platform/storage';

/** The Azurite connection string started by globalSetup. */
export function azuriteConnectionString(): string {
  const cs = process.env.AZURITE_CONNECTION_STRING;
  if (!cs) throw new Error('AZURITE_CONNECTION_STRING is not set: run the tests through jest (globalSetup starts Azurite)');
  return cs;
}

/** Settings pointing at the test Azurite, with overrides. */
export function testSettings(overrides: Record<string, string> = {}): Settings {
  return readSettings({ AzureWebJobsStorage: azuriteConnectionString(), ...overrides });
}

/** Storage clients on the test Azurite. */
export function testStorage(): StorageClients {
  return createStorageClients(testSettings());
}

/** A name unique to this test, valid for containers, queues and tables (lower-case letters and digits). */
export function uniqueName(prefix: string): string {
  return (prefix + randomUUID().replace(/-/g, '')).toLowerCase().slice(0, 40);
}
