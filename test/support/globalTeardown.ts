/** Stops the Azurite that globalSetup started. */
import type { AzuriteHandle } from '../../local/azurite';

export default async function globalTeardown(): Promise<void> {
  const azurite = (globalThis as Record<string, unknown>).__AZURITE__ as AzuriteHandle | undefined;
  await azurite?.stop();
}
