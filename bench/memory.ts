/**
 * Peak memory with large items: a day of eight MMS of just under 10 MiB each
 * (one seeded video apiece, eight mailboxes), archived by a child process
 * that runs the connector alone (the local driver, its orchestrators and
 * every activity), as a Functions instance would. Azurite and the emulators
 * stay in this process, so the child's peak RSS is the connector's own.
 *
 * Run as a script, this file is the child: it reads the settings from its
 * environment, archives the window it is given and prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { seededMedia, type EmulatorMedia } from '../local/emulators/telemessage';
import { createLocalRunner } from '../local/runner';
import { readSettings } from '../shared/platform/config';
import { startServices, uploadMapping, type BenchDay, type BenchStack } from './pipeline';
import { mappingCsvOf } from './smsDay';

export interface MemoryResult {
  items: number;
  itemBytes: number;
  imported: number;
  /** The child's peak resident set, in MiB (getrusage's maxrss). */
  peakRssMiB: number;
}

const ITEMS = 8;
const TEN_MIB = 10 * 1024 * 1024;

/** One mailbox for each large item, and the mapping file that names their numbers. */
function bigUsers() {
  const users = Array.from({ length: ITEMS }, (_, i) => {
    const upn = `big${i + 1}@contoso.example`;
    return { displayName: `Big ${i + 1}`, userPrincipalName: upn, mail: upn, phone: `+44770090${String(i + 100).padStart(4, '0')}` };
  });
  return { users, mappingCsv: mappingCsvOf(users) };
}

/** Eight MMS of a little under 10 MiB each, one per mailbox. */
function bigMmsDay(): BenchDay {
  const { users, mappingCsv } = bigUsers();
  const text = 'Site walkthrough video attached';
  const media: EmulatorMedia[] = [];
  const records = users.map((user, i) => {
    const id = `tm-bench-big-${i + 1}`;
    // Under MAX_ITEM_BYTES (text + media), so each is converted and imported, not set aside.
    const body = seededMedia({ itemId: id, mediaId: 'v1', contentType: 'video/mp4', size: TEN_MIB - Buffer.byteLength(text) - 1024, seed: `bench-memory:${id}` });
    media.push(body);
    return {
      id,
      type: 'mms',
      direction: 'outbound',
      timestamp: `2026-11-25T${String(8 + i).padStart(2, '0')}:00:00.000Z`,
      from: { phone: user.phone, email: null, name: user.displayName },
      to: [{ phone: '+447700900999', email: null, name: null }],
      text,
      media: [{ id: 'v1', fileName: `walkthrough-${i + 1}.mp4`, contentType: body.contentType, size: body.size, sha256: body.sha256 }],
    };
  });
  return { users, mappingCsv, records, media, window: { from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' } };
}

/** Archives the eight large MMS in a child process and reads its peak RSS. */
export async function benchMemory(stack: BenchStack): Promise<MemoryResult> {
  const day = bigMmsDay();
  const services = await startServices(stack, day);
  try {
    const child = spawn(process.execPath, [__filename, day.window.from, day.window.to], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? stack.stateDir, ...(process.env.BENCH_VERBOSE ? { BENCH_VERBOSE: '1' } : {}), ...services.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const line = out.trim().split('\n').pop() ?? '';
    if (code !== 0 || !line.startsWith('{')) throw new Error(`the memory bench's child exited ${code}: ${out.slice(-300)}`);
    const child_ = JSON.parse(line) as { imported: number; maxRssKiB: number };
    return {
      items: ITEMS,
      itemBytes: TEN_MIB,
      imported: child_.imported,
      peakRssMiB: child_.maxRssKiB / 1024,
    };
  } finally {
    await services.stop();
  }
}

/** The child: archive the window with the settings in the environment, then print the counts and the peak RSS. */
async function child(from: string, to: string): Promise<void> {
  const settings = readSettings(process.env);
  const runner = await createLocalRunner({ settings, timeScale: 0.05 });
  // With BENCH_VERBOSE, where memory goes: the resident set after loading, then twice a second with the run's phase.
  const verbose = !!process.env.BENCH_VERBOSE;
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  if (verbose) process.stderr.write(`loaded: rss ${mib(process.memoryUsage().rss)} MiB\n`);
  let phase = '';
  const sampler = verbose
    ? setInterval(() => {
      const m = process.memoryUsage();
      process.stderr.write(`${phase}: rss ${mib(m.rss)} MiB, heap ${mib(m.heapUsed)}, array buffers ${mib(m.arrayBuffers)}\n`);
    }, 500)
    : undefined;
  await uploadMapping(runner, { ...bigUsers(), records: [], window: { from, to } });
  const run = await runner.startRun({ trigger: 'cli', window: { from, to } });
  const { report } = await runner.waitForRun(run, (status) => (phase = (status as { phase?: string }).phase ?? ''));
  // getrusage's ru_maxrss: the largest resident set the process ever had, in KiB on Linux.
  if (sampler) clearInterval(sampler);
  process.stdout.write(`${JSON.stringify({ imported: report?.counts.imported ?? 0, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
}

if (require.main === module) {
  child(process.argv[2], process.argv[3]).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
