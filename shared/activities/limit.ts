/** Runs `work` over `values` with at most `concurrency` at once; results in input order. */
export async function mapLimited<T, R>(values: readonly T[], concurrency: number, work: (value: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(values.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < values.length; i = next++) results[i] = await work(values[i], i);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), values.length) }, worker));
  return results;
}
