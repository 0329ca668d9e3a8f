/**
 * One SMS day through the pipeline, measured (a part of `npm run bench`, alone):
 *
 *   node dist/bench/day.js [items 2000] [mailboxes 200]
 *
 * With NODE_OPTIONS=--cpu-prof both this process and Azurite write CPU profiles.
 */
import { runSmsDay, startBenchAzurite } from './pipeline';

async function main(): Promise<void> {
  const items = Number(process.argv[2] ?? 2000);
  const mailboxes = Number(process.argv[3] ?? 200);
  const stack = await startBenchAzurite();
  try {
    await runSmsDay(stack, { items, mailboxes, label: 'day', log: (line) => process.stdout.write(`${line}\n`) });
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
