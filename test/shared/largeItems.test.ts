/** The process's budget of large items: what fits goes at once, the rest waits its turn, in order, and small items never wait. */
import { ByteBudget, LARGE_ITEM_BYTES, withinLargeItemBudget } from '../../shared/platform/largeItems';

const MiB = 1024 * 1024;

describe('ByteBudget', () => {
  it('lets in what fits, queues the rest in order of arrival, and lets an item larger than the budget go alone', async () => {
    const budget = new ByteBudget(20 * MiB);
    const order: string[] = [];
    const a = await budget.acquire(10 * MiB);
    const b = await budget.acquire(10 * MiB);
    expect(budget.held).toBe(20 * MiB);
    const c = budget.acquire(10 * MiB).then((release) => (order.push('c'), release));
    const d = budget.acquire(30 * MiB).then((release) => (order.push('d'), release));
    const e = budget.acquire(5 * MiB).then((release) => (order.push('e'), release));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    a();
    const releaseC = await c;
    expect(order).toEqual(['c']);
    b();
    releaseC();
    // d is larger than the whole budget: it goes once nothing else is held, and e, behind it, waits for it.
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    expect(budget.held).toBe(30 * MiB);
    releaseD();
    (await e)();
    expect(order).toEqual(['c', 'd', 'e']);
    expect(budget.held).toBe(0);
  });

  it('gives bytes back once however often release is called', async () => {
    const budget = new ByteBudget(10 * MiB);
    const release = await budget.acquire(4 * MiB);
    release();
    release();
    expect(budget.held).toBe(0);
  });

  it('never holds back a small item, and gives the budget back when the work fails', async () => {
    let running = 0;
    let most = 0;
    const work = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
    };
    await Promise.all(Array.from({ length: 6 }, () => withinLargeItemBudget(LARGE_ITEM_BYTES, work)));
    expect(most).toBe(6);
    await expect(withinLargeItemBudget(10 * MiB, async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    most = 0;
    await Promise.all(Array.from({ length: 6 }, () => withinLargeItemBudget(10 * MiB, work)));
    // Two 10 MiB items fit the process's budget at once; the failed one gave its share back.
    expect(most).toBe(2);
  });
});
