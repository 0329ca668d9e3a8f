/**
 * Peak memory with large items: a day of eight MMS of just under 10 MiB each
 * (one seeded video apiece, eight mailboxes), archived by a child process
 * that runs the connector alone (the local driver, its orchestrators and
 * every activity), as a Functions instance would. Azurite and the emulators
 * stay in this process, so the child's peak RSS is the connector's own.
 *
 * The child is bench/memoryChild.ts, a module of its own, so that it loads
 * what a Functions instance loads and not this file's (the emulators, the
 * bench's own modules, their certificate and mail-parsing libraries: about
 * 14 MiB of resident set and 8 MiB of heap that no instance carries).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { seededMedia, type EmulatorMedia } from '../local/emulators/telemessage';
import { startServices, type BenchDay, type BenchStack } from './pipeline';
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
    const script = path.join(__dirname, `memoryChild${path.extname(__filename)}`);
    const child = spawn(process.execPath, [script, day.window.from, day.window.to, day.mappingCsv], {
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
