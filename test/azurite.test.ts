import { testStorage, uniqueName } from './support/storage';

describe('test Azurite', () => {
  it('stores and reads back a blob', async () => {
    const container = testStorage().container(uniqueName('smoke'));
    await container.create();
    await container.getBlockBlobClient('a.txt').upload('hello', 5);
    const text = (await container.getBlockBlobClient('a.txt').downloadToBuffer()).toString();
    expect(text).toBe('hello');
  });
});
