/**
 * `npm run emulators`: Azurite, the TeleMessage emulator with the sample day
 * and the Graph emulator with the sample tenant, until Ctrl-C. Prints the
 * settings (as a .env) that point `o2-archiver` at them.
 */
import path from 'node:path';
import { describeError } from '../shared/model/errors';
import { startLocalStack } from './stack';
import { findProjectRoot } from './sample';

async function main(): Promise<void> {
  const root = findProjectRoot(__dirname);
  const stack = await startLocalStack({ stateDir: path.join(root, '.local', 'emulators') });
  process.stdout.write('# Azurite and both emulators are running; put these lines in .env to use them:\n');
  for (const [name, value] of Object.entries(stack.env)) process.stdout.write(`${name}=${value}\n`);
  process.stdout.write(`# sample day ${stack.sample.day}: ${stack.sample.records.length} records. Ctrl-C stops everything.\n`);
  const stop = () => {
    stack.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e) => {
  process.stderr.write(`npm run emulators: ${describeError(e)}\n`);
  process.exit(1);
});
