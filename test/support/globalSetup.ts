/** Starts one Azurite for the whole test run; tests read its connection string from the environment. */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAzurite } from '../../local/azurite';

export default async function globalSetup(): Promise<void> {
  const location = mkdtempSync(path.join(os.tmpdir(), 'o2-azurite-'));
  const azurite = await startAzurite({ location });
  process.env.AZURITE_CONNECTION_STRING = azurite.connectionString;
  process.env.AzureWebJobsStorage = azurite.connectionString;
  (globalThis as Record<string, unknown>).__AZURITE__ = azurite;
}
