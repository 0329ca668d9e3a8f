/**
 * A day of plain SMS for the benchmarks: `mailboxes` users of a tenant, each
 * with a number in the mapping file, and `items` messages spread over the
 * day, most between a user and an outside number (one import unit), some
 * between two users (two units). Seeded, so every run of the bench archives
 * the same day.
 */
import { SeededRandom } from '../local/emulators/telemessage/random';

export interface BenchUser {
  displayName: string;
  userPrincipalName: string;
  mail: string;
  phone: string;
}

export interface SmsDay {
  users: BenchUser[];
  /** The mapping file (contracts/user-mapping-csv.md). */
  mappingCsv: string;
  records: Record<string, unknown>[];
  /** Import units the day makes (a message between two users makes two). */
  units: number;
  window: { from: string; to: string };
}

const DAY = '2026-11-25';
const TEXTS = [
  'Running ten minutes late, start without me.',
  'Can you send the revised figures before the 3pm call?',
  'Confirmed: 2,500 at 101.25, settlement T+2.',
  'On my way to the client site now 🚆',
  'Please call me back when you are free.',
  'Thanks, received. Will review tonight.',
];

/** The day: `mailboxes` users (at most 900), `items` SMS. */
export function smsDay(options: { mailboxes: number; items: number; seed?: string }): SmsDay {
  const random = new SeededRandom(options.seed ?? 'bench-sms-day');
  const users: BenchUser[] = Array.from({ length: options.mailboxes }, (_, i) => {
    const n = String(i + 1).padStart(4, '0');
    const upn = `user${n}@contoso.example`;
    // Ofcom's drama range: no real phone is ever named.
    return { displayName: `User ${n}`, userPrincipalName: upn, mail: upn, phone: `+4477009${String(i + 100).padStart(5, '0')}` };
  });
  const start = Date.parse(`${DAY}T00:00:00.000Z`);
  let units = 0;
  const records = Array.from({ length: options.items }, (_, i) => {
    const user = users[random.int(0, users.length - 1)];
    const internal = users.length > 1 && random.chance(0.1);
    const other = internal ? users.filter((u) => u !== user)[random.int(0, users.length - 2)] : undefined;
    units += internal ? 2 : 1;
    const outside = { phone: `+4477009${String(random.int(1000, 9999)).padStart(5, '0')}`, email: null, name: null };
    const me = { phone: user.phone, email: null, name: user.displayName };
    const them = other ? { phone: other.phone, email: null, name: other.displayName } : outside;
    const outbound = random.chance(0.5);
    return {
      // The day's size in the id: two days of one bench are different items, each imported once.
      id: `tm-bench-${options.items}-${String(i + 1).padStart(7, '0')}`,
      type: 'sms',
      direction: outbound ? 'outbound' : 'inbound',
      timestamp: new Date(start + Math.floor((i * 86_400_000) / options.items)).toISOString(),
      from: outbound ? me : them,
      to: [outbound ? them : me],
      text: random.pick(TEXTS),
    };
  });
  return { users, mappingCsv: mappingCsvOf(users), records, units, window: { from: `${DAY}T00:00:00.000Z`, to: '2026-11-26T00:00:00.000Z' } };
}

/** The mapping file (contracts/user-mapping-csv.md, TeleMessage format) that maps each user's number to its mailbox. */
export function mappingCsvOf(users: readonly BenchUser[]): string {
  return ['External User ID,Microsoft 365 User Mailbox', ...users.map((u) => `${u.phone.slice(1)},${u.userPrincipalName}`)].join('\n') + '\n';
}
