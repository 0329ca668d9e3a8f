import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { createMappingStore, MappingBlobNames } from '../../shared/stages/mapping/store';
import { testStorage, uniqueName } from '../support/storage';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../../fixtures/mapping', name), 'utf8');

async function blobNames(container: ContainerClient, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
  return names.sort();
}

async function readText(container: ContainerClient, name: string): Promise<string> {
  return (await container.getBlockBlobClient(name).downloadToBuffer()).toString('utf8');
}

function newStore(clock?: () => Date) {
  const container = testStorage().container(uniqueName('mapping'));
  return { container, store: createMappingStore(container, { defaultRegion: 'GB', now: clock }) };
}

describe('mapping store', () => {
  it('is empty before anything is uploaded (even without a container)', async () => {
    const { store } = newStore();
    expect((await store.current()).size).toBe(0);
    expect(await store.currentCsv()).toBeNull();
    expect(await store.show()).toMatchObject({ csv: null, updatedAt: null, updatedBy: null });
  });

  it('puts an accepted file in force in canonical form and records who and when', async () => {
    const { store, container } = newStore(() => new Date('2026-11-25T10:00:00.000Z'));
    const result = await store.replace(fixture('no-header-mixed-formats.csv'), { who: 'admin@contoso.example' });
    expect(result.ok).toBe(true);
    expect(Object.fromEntries(await store.current())).toEqual({
      '+447700900101': 'alice.smith@contoso.example',
      '+447700900102': 'bob.jones@contoso.example',
      '+447700900103': 'carol.white@contoso.example',
    });
    expect((await store.currentCsv())!.split('\r\n')[0]).toBe('External User ID,Microsoft 365 User Mailbox');
    const shown = await store.show();
    expect(shown).toMatchObject({ updatedAt: '2026-11-25T10:00:00.000Z', updatedBy: 'admin@contoso.example' });
    // First upload: nothing to keep, everything added.
    expect(await blobNames(container, MappingBlobNames.versionsPrefix)).toEqual([]);
    const changes = await blobNames(container, MappingBlobNames.changesPrefix);
    expect(changes).toEqual(['changes/20261125T100000000Z.json']);
    const change = JSON.parse(await readText(container, changes[0]));
    expect(change).toMatchObject({ who: 'admin@contoso.example', when: '2026-11-25T10:00:00.000Z', previousVersion: null, removed: [], repointed: [] });
    expect(change.added).toHaveLength(3);
  });

  it('rejects a file with errors whole and leaves the mapping in force unchanged', async () => {
    const { store, container } = newStore();
    expect((await store.replace(fixture('telemessage-format.csv'), { who: 'a' })).ok).toBe(true);
    const before = await store.currentCsv();
    const changesBefore = await blobNames(container, '');

    const result = await store.replace(fixture('with-errors.csv'), { who: 'b' });
    expect(result.ok).toBe(false);
    expect(result.validation.errors.map((e) => e.line)).toEqual([3, 4, 5]);
    expect(await store.currentCsv()).toBe(before);
    expect(await blobNames(container, '')).toEqual(changesBefore);
  });

  it('keeps the previous version and records the difference', async () => {
    let t = Date.parse('2026-11-25T10:00:00.000Z');
    const { store, container } = newStore(() => new Date((t += 1000)));
    await store.replace(fixture('telemessage-format.csv'), { who: 'first' });
    const firstCsv = await store.currentCsv();
    const result = await store.replace(
      'Phone,Mailbox\n07700 900101,alice.smith@contoso.example\n07700 900102,bob.jones@contoso.example\n07700 900103,alice.smith@contoso.example\n',
      { who: 'second' },
    );
    if (!result.ok) throw new Error('expected the upload to load');
    expect(result.change).toMatchObject({
      who: 'second',
      numbers: 3,
      added: [{ phone: '+447700900102', mailbox: 'bob.jones@contoso.example' }],
      removed: [],
      repointed: [{ phone: '+447700900103', from: 'carol.white@contoso.example', to: 'alice.smith@contoso.example' }],
    });
    const versions = await blobNames(container, MappingBlobNames.versionsPrefix);
    expect(versions).toEqual([result.change.previousVersion]);
    expect(await readText(container, versions[0])).toBe(firstCsv);
    const stored = JSON.parse(await readText(container, result.changeRecord));
    expect(stored).toEqual(result.change);
    expect((await blobNames(container, MappingBlobNames.changesPrefix)).length).toBe(2);
  });

  it('serialises two uploads racing each other: both land, neither is lost from the history', async () => {
    const { store, container } = newStore();
    await store.replace('07700 900101,alice@contoso.example\n', { who: 'seed' });
    const [a, b] = await Promise.all([
      store.replace('07700 900101,bob@contoso.example\n', { who: 'a' }),
      store.replace('07700 900101,carol@contoso.example\n', { who: 'b' }),
    ]);
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    // Whichever went second saw the first one's mapping as the one it replaced.
    const [first, second] = (await store.show()).updatedBy === 'b' ? [a, b] : [b, a];
    const finalMailbox = (await store.current()).get('+447700900101');
    expect(finalMailbox).toBe(second.change.repointed[0].to);
    expect(second.change.repointed[0].from).toBe(first.change.repointed[0].to);
    expect(first.change.repointed[0].from).toBe('alice@contoso.example');
    expect(await blobNames(container, MappingBlobNames.versionsPrefix)).toHaveLength(2);
  });

  it('re-reads and goes again when another writer switched current.csv between its read and its write', async () => {
    const real = testStorage().container(uniqueName('mapping'));
    let intrude = false;
    // A container whose current.csv lets another writer in just before the
    // store's own write, once: the store's write must then fail its ETag
    // condition and start over from what the other writer left.
    const container = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== 'getBlockBlobClient') return Reflect.get(target, prop, receiver);
        return (name: string) => {
          const blob = target.getBlockBlobClient(name);
          if (name !== MappingBlobNames.current) return blob;
          return new Proxy(blob, {
            get(b, p, r) {
              if (p !== 'upload') return Reflect.get(b, p, r);
              return async (...args: Parameters<typeof blob.upload>) => {
                if (intrude) {
                  intrude = false;
                  const body = 'External User ID,Microsoft 365 User Mailbox\r\n+447700900101,bob@contoso.example\r\n';
                  await target.getBlockBlobClient(name).upload(body, body.length);
                }
                return b.upload(...args);
              };
            },
          });
        };
      },
    });
    const store = createMappingStore(container, { defaultRegion: 'GB' });
    await store.replace('07700 900101,alice@contoso.example\n', { who: 'seed' });
    intrude = true;
    const result = await store.replace('07700 900101,carol@contoso.example\n', { who: 'late' });
    expect(intrude).toBe(false);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect((await store.current()).get('+447700900101')).toBe('carol@contoso.example');
    expect(result.change.repointed).toEqual([{ phone: '+447700900101', from: 'bob@contoso.example', to: 'carol@contoso.example' }]);
    // Only the version this upload really replaced is kept (the first attempt's copy is withdrawn).
    const versions = await blobNames(real, MappingBlobNames.versionsPrefix);
    expect(versions).toEqual([result.change.previousVersion]);
    expect(await readText(real, versions[0])).toContain('bob@contoso.example');
  });
});
