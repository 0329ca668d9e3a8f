/**
 * A bench day's mapping file, uploaded as an admin would. A module of its
 * own so that the memory bench's child (bench/memoryChild.ts) can use it
 * without loading the emulators that bench/pipeline.ts brings.
 */
import type { LocalRunner } from '../local/runner';
import { ContainerNames } from '../shared/platform/names';
import { createMappingStore } from '../shared/stages/mapping';

/** Puts `mappingCsv` in force on the runner's storage; throws when the store refuses it. */
export async function uploadMapping(runner: LocalRunner, mappingCsv: string): Promise<void> {
  const mapping = createMappingStore(runner.infra.storage.container(ContainerNames.mapping), { defaultRegion: 'GB' });
  const uploaded = await mapping.replace(mappingCsv, { who: 'bench' });
  if (!uploaded.ok) throw new Error('the bench mapping was rejected');
}
