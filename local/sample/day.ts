/**
 * The sample day: the fixture items plus generated O2 traffic over the sample
 * tenant, deterministic from a seed. It is what `npm start` archives and what
 * tests run against, so it holds every kind of item the contracts describe:
 * every written form of a UK number, sender ids and short codes, many
 * scripts and emoji, groups, MMS with images and vCards, calls of every
 * status with recordings, numbers nobody owns, and three items at the size
 * limit (one under, one at, one over).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { itemSizeInBytes, type ItemType, type Participant, type TimeWindow } from '../../shared/model/item';
import { DEFAULT_EMULATOR_SEED } from '../../shared/platform/config';
import { toE164 } from '../../shared/model/phone';
import { validateRecord } from '../../shared/stages/source/validate';
import { seededMedia, type EmulatorMedia } from '../emulators/telemessage/media';
import { SeededRandom } from '../emulators/telemessage/random';
import { inlineMedia, samplePng, sampleVCard, sampleWav } from './media';
import { addressesOf, PROXY_ONLY_ADDRESS, sampleTenant, type SampleUser } from './tenant';

export interface SampleDayOptions {
  /** Seed of the generated traffic (EMULATOR_SEED); default `o2-archiver`. */
  seed?: string;
  /** The UTC day, `YYYY-MM-DD`; default 2026-11-25, the day of the fixtures. */
  day?: string;
  /** How many items to generate besides the fixtures and the three big ones; default 300. */
  generatedItems?: number;
  /** Invalid records to add on purpose; default 0, so the quick start shows no failures. */
  invalidRecords?: number;
  /** The three big items sit around this limit (MAX_ITEM_BYTES); default 10 MiB. */
  maxItemBytes?: number;
  /** Leave out the three big items (their media cost ~30 MiB of hashing); default true. */
  bigItems?: boolean;
  /** The project root holding `fixtures/`; found from this file by default. */
  projectRoot?: string;
}

export interface SampleDayExpectations {
  /** Every record, valid or not. */
  records: number;
  fixtures: number;
  generated: number;
  invalid: number;
  /** Valid items by type. */
  byType: Record<ItemType, number>;
  bigItems: { underLimitId: string; atLimitId: string; overLimitId: string } | null;
  /** Ids of valid items over `maxItemBytes`. */
  tooLarge: string[];
  /**
   * Ids of valid items no participant of which finds a tenant user, with the
   * sample mapping (fixtures/mapping/telemessage-format.csv) in force: by
   * E.164 in the mapping, else by the participant's email.
   */
  unmapped: string[];
}

export interface SampleDay {
  day: string;
  /** The whole UTC day, `[day, day + 1)`. */
  window: TimeWindow;
  /** Records as the archive would hold them (media inline where small). */
  records: unknown[];
  /** Media bodies not inline (the big items'), for the emulator's `media` option. */
  media: EmulatorMedia[];
  expected: SampleDayExpectations;
}

export const SAMPLE_DAY = '2026-11-25';
const DEFAULT_GENERATED = 300;
const TEN_MIB = 10 * 1024 * 1024;
const DAY_IN_MS = 24 * 3600 * 1000;

/** Builds the sample day from its seed: the same options always give the same records and bytes. */
export function sampleDay(options: SampleDayOptions = {}): SampleDay {
  const day = options.day ?? SAMPLE_DAY;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) {
    throw new RangeError(`day must be a date written YYYY-MM-DD, not ${day}`);
  }
  const seed = options.seed ?? DEFAULT_EMULATOR_SEED;
  const dayStart = Date.parse(`${day}T00:00:00Z`);
  const window = { from: new Date(dayStart).toISOString(), to: new Date(dayStart + DAY_IN_MS).toISOString() };
  const root = options.projectRoot ?? findProjectRoot(__dirname);
  const maxItemBytes = options.maxItemBytes ?? TEN_MIB;
  const generator = new TrafficGenerator(new SeededRandom(`sample-day:${seed}:${day}`), sampleTenant(), day, dayStart);

  const fixtures = readFixtureItems(root).filter((r) => inWindow(r, window));
  const generated = generator.items(options.generatedItems ?? DEFAULT_GENERATED);
  const media: EmulatorMedia[] = [];
  let bigItems: SampleDayExpectations['bigItems'] = null;
  if (options.bigItems ?? true) {
    const big = generator.bigItems(seed, maxItemBytes);
    generated.push(...big.records);
    media.push(...big.media);
    bigItems = big.ids;
  }
  const invalid = generator.invalidRecords(options.invalidRecords ?? 0);
  const records: unknown[] = [...fixtures, ...generated, ...invalid];

  return {
    day,
    window,
    records,
    media,
    expected: expectations(records, fixtures.length, generated.length, invalid.length, bigItems, maxItemBytes, root),
  };
}

/** The folder holding package.json and fixtures/items, from src (ts-jest) or from dist. */
export function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'fixtures', 'items'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no project root with fixtures/items above ${start}`);
  }
}

/** The fixture items (fixtures/items/*.json), in file-name order. */
export function readFixtureItems(root: string = findProjectRoot(__dirname)): unknown[] {
  const folder = path.join(root, 'fixtures', 'items');
  return readdirSync(folder)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(folder, f), 'utf8')) as unknown);
}

function inWindow(record: unknown, window: TimeWindow): boolean {
  const ms = Date.parse(String((record as { timestamp?: unknown }).timestamp));
  return ms >= Date.parse(window.from) && ms < Date.parse(window.to);
}

// ---- generation ----------------------------------------------------------

type Kind = 'sms' | 'mms' | 'voice';

const EXTERNAL_UK = Array.from({ length: 12 }, (_, i) => `+4477009005${String(60 + i).padStart(2, '0')}`);
/** O2 subscribers of the organisation that nobody put in the tenant or the mapping. */
const UNREGISTERED = ['+447700900998', '+447700900997'];
/** Fictional foreign numbers: the French 0639 98 range and the US 555-01xx range. */
const EXTERNAL_FOREIGN = ['+33 6 39 98 12 34', '+33639981122', '+1 (202) 555-0147', '+12025550183'];
const SENDER_IDS = ['O2', 'BankAlerts', 'DPD-UK', 'NHSvaccine', 'Uber'];
const SHORT_CODES = ['80120', '61009', '2580'];

const TEXTS = [
  'Running 10 mins late, start without me',
  'Can you send the Q4 numbers before the call?',
  'Trade confirmed at 101.25, ticket to follow',
  'Call me when you are free',
  'Thanks!',
  'Prix confirmé ✅ — on se voit à 15h ? Merci 😊',
  'Grüße aus München – Unterlagen folgen morgen.',
  'Zażółć gęślą jaźń — dokumenty wysłane.',
  'Καλημέρα! Η συνάντηση μετακινήθηκε στις 11:00.',
  'Привет! Договор подписан.',
  'مرحبا، هل الاجتماع ما زال في موعده؟',
  'שלום, המסמכים נשלחו.',
  'नमस्ते, रिपोर्ट भेज दी है।',
  '会议改到明天上午十点。',
  '了解しました。資料は後ほど送ります。',
  '회의 자료 보냈습니다.',
  'ขอบคุณครับ',
  '👍👍 deal',
  '🇬🇧✈️🇫🇷 trip booked',
  '👩‍👩‍👧‍👦 🏳️‍🌈 🧑🏽‍💻 all good',
  'Price ↑ 3% 📈 — ok to proceed?',
  'Quotes "double" and \'single\' & <angle> brackets',
  'Line one\nLine two\r\nLine three',
  '=SUM(A1:A2) is not a formula here',
  'Long one: ' + 'the settlement instructions for tomorrow are unchanged from last week, '.repeat(4).trim(),
];
const SENDER_TEXTS = [
  'Your code is 482913. Do not share it with anyone.',
  'Your parcel arrives today between 10:00 and 11:00.',
  'Your O2 bill is ready.',
  'Your driver is arriving.',
];
const SHORT_CODE_TEXTS = ['STOP received. You will get no more messages.', 'Reply YES to confirm your booking.'];
const MMS_TEXTS = ['See attached', 'Photo from the site visit 📷', 'Contact card for the new supplier', '', null];
const EXTERNAL_NAMES = ['Dan', 'Priya (supplier)', 'Marc Dubois', null, null, null];

interface BigItemIds {
  underLimitId: string;
  atLimitId: string;
  overLimitId: string;
}

class TrafficGenerator {
  private readonly users: SampleUser[];
  private readonly alice: SampleUser;
  private readonly compactDay: string;

  constructor(
    private readonly random: SeededRandom,
    users: SampleUser[],
    private readonly day: string,
    private readonly dayStart: number,
  ) {
    this.users = users;
    this.alice = users[0];
    this.compactDay = day.replace(/-/g, '');
  }

  items(count: number): Record<string, unknown>[] {
    const counters: Record<Kind, number> = { sms: 0, mms: 0, voice: 0 };
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const roll = this.random.float();
      const kind: Kind = roll < 0.6 ? 'sms' : roll < 0.75 ? 'mms' : 'voice';
      const id = `tm-${this.compactDay}-${kind}-${String(++counters[kind]).padStart(4, '0')}`;
      // The first item sits exactly on the window's start (inside: the window is half-open), the second just before its end.
      const timeInMs = i === 0 ? this.dayStart : i === 1 ? this.dayStart + DAY_IN_MS - 1 : this.dayStart + this.random.int(0, DAY_IN_MS - 1);
      out.push(kind === 'sms' ? this.sms(id, timeInMs) : kind === 'mms' ? this.mms(id, timeInMs) : this.voice(id, timeInMs));
    }
    return out;
  }

  /** Three MMS from Alice whose size (text + one seeded video) is the limit minus one, the limit, and the limit plus one. */
  bigItems(seed: string, maxItemBytes: number): { records: Record<string, unknown>[]; media: EmulatorMedia[]; ids: BigItemIds } {
    const text = 'Site walkthrough video attached (large file)';
    const textBytes = Buffer.byteLength(text, 'utf8');
    const shapes = [
      { suffix: 'under', delta: -1, hour: 14 },
      { suffix: 'at', delta: 0, hour: 15 },
      { suffix: 'over', delta: 1, hour: 16 },
    ];
    const records: Record<string, unknown>[] = [];
    const media: EmulatorMedia[] = [];
    for (const shape of shapes) {
      const id = `tm-${this.compactDay}-big-${shape.suffix}`;
      const body = seededMedia({
        itemId: id,
        mediaId: 'v1',
        contentType: 'video/mp4',
        size: maxItemBytes - textBytes + shape.delta,
        seed: `${seed}:${id}`,
      });
      media.push(body);
      records.push({
        id,
        type: 'mms',
        direction: 'outbound',
        timestamp: new Date(this.dayStart + shape.hour * 3600_000).toISOString(),
        from: { phone: this.alice.phone, email: this.alice.userPrincipalName, name: this.alice.displayName },
        to: [{ phone: EXTERNAL_UK[0], email: null, name: null }],
        text,
        media: [{ id: 'v1', fileName: `walkthrough-${shape.suffix}.mp4`, contentType: body.contentType, size: body.size, sha256: body.sha256 }],
      });
    }
    return {
      records,
      media,
      ids: { underLimitId: records[0].id as string, atLimitId: records[1].id as string, overLimitId: records[2].id as string },
    };
  }

  /** Records that break the contract one way each, for runs that must show `invalid`. */
  invalidRecords(count: number): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const id = `tm-${this.compactDay}-bad-${String(i + 1).padStart(4, '0')}`;
      const base = this.sms(id, this.dayStart + this.random.int(0, DAY_IN_MS - 1));
      switch (i % 5) {
        case 0: // a call without its call details
          out.push({ ...base, type: 'voice', text: null });
          break;
        case 1: // call details on a message
          out.push({ ...base, call: { durationSeconds: 3, status: 'answered', recording: null } });
          break;
        case 2: {
          // no id at all: reported with itemId null
          const { id: _dropped, ...withoutId } = base;
          out.push(withoutId);
          break;
        }
        case 3: // nobody to send it to
          out.push({ ...base, to: [] });
          break;
        default: // a type the contract does not know
          out.push({ ...base, type: 'fax' });
      }
    }
    return out;
  }

  private sms(id: string, timeInMs: number): Record<string, unknown> {
    const shape = this.random.float();
    const user = this.pickUser();
    if (shape < 0.25) {
      const other = this.pickUser(user);
      return this.message(id, 'sms', 'outbound', timeInMs, this.userParticipant(user), [this.userParticipant(other)], this.random.pick(TEXTS), this.conversation(user.phone, other.phone));
    }
    if (shape < 0.5) {
      const external = this.externalNumber();
      return this.message(id, 'sms', 'outbound', timeInMs, this.userParticipant(user), [this.externalParticipant(external)], this.random.pick(TEXTS), this.conversation(user.phone, external));
    }
    if (shape < 0.68) {
      const external = this.externalNumber();
      return this.message(id, 'sms', 'inbound', timeInMs, this.externalParticipant(external), [this.userParticipant(user)], this.random.pick(TEXTS), this.conversation(user.phone, external));
    }
    if (shape < 0.8) {
      const shortCode = this.random.chance(0.35);
      const from = shortCode ? this.random.pick(SHORT_CODES) : this.random.pick(SENDER_IDS);
      const text = this.random.pick(shortCode ? SHORT_CODE_TEXTS : SENDER_TEXTS);
      return this.message(id, 'sms', 'inbound', timeInMs, { phone: from, email: null, name: null }, [this.userParticipant(user)], text, null);
    }
    if (shape < 0.95) {
      // A group message: users and outsiders together, two to six recipients.
      const members = this.random.sample(this.users.filter((u) => u !== user), this.random.int(1, 3)).map((u) => this.userParticipant(u));
      const outsiders = Array.from({ length: this.random.int(1, 3) }, () => this.externalParticipant(this.externalNumber()));
      const to = this.random.sample([...members, ...outsiders], members.length + outsiders.length);
      return this.message(id, 'sms', 'outbound', timeInMs, this.userParticipant(user), to, this.random.pick(TEXTS), `conv-group-${this.random.int(1, 6)}`);
    }
    // Between two O2 subscribers nobody registered: no participant finds a mailbox.
    const [a, b] = this.random.sample(UNREGISTERED, 2);
    return this.message(id, 'sms', 'outbound', timeInMs, { phone: this.writtenForm(a), email: null, name: null }, [{ phone: b, email: null, name: null }], this.random.pick(TEXTS), null);
  }

  private mms(id: string, timeInMs: number): Record<string, unknown> {
    const user = this.pickUser();
    const outbound = this.random.chance(0.5);
    const counterpart = this.random.chance(0.4) ? this.userParticipant(this.pickUser(user)) : this.externalParticipant(this.externalNumber());
    const media = [];
    const count = this.random.int(1, 3);
    for (let m = 1; m <= count; m++) {
      if (this.random.chance(0.7)) {
        const png = samplePng(this.random, this.random.int(4, 24), this.random.int(4, 24));
        media.push(inlineMedia(`m${m}`, this.random.chance(0.8) ? `photo-${m}.png` : null, 'image/png', png));
      } else {
        const contact = this.random.pick(this.users);
        media.push(inlineMedia(`m${m}`, this.random.chance(0.5) ? `${contact.displayName}.vcf` : null, 'text/vcard', sampleVCard(contact.displayName, contact.phone)));
      }
    }
    const record = this.message(
      id, 'mms', outbound ? 'outbound' : 'inbound', timeInMs,
      outbound ? this.userParticipant(user) : counterpart,
      [outbound ? counterpart : this.userParticipant(user)],
      this.random.pick(MMS_TEXTS), null,
    );
    return { ...record, media };
  }

  private voice(id: string, timeInMs: number): Record<string, unknown> {
    const user = this.pickUser();
    const outbound = this.random.chance(0.45);
    const counterpart = this.random.chance(0.3) ? this.userParticipant(this.pickUser(user)) : this.externalParticipant(this.externalNumber());
    const roll = this.random.float();
    const status = roll < 0.5 ? 'answered' : roll < 0.7 ? 'missed' : roll < 0.8 ? 'rejected' : 'voicemail';
    const durationSeconds = status === 'answered' ? this.random.int(5, 1800) : status === 'voicemail' ? this.random.int(5, 90) : 0;
    const recorded = status === 'voicemail' || (status === 'answered' && this.random.chance(0.7));
    // Recordings are a fraction of a second whatever the duration: the sample stays small.
    const recording = recorded
      ? inlineMedia('r1', this.random.chance(0.8) ? `call-${id}.wav` : null, 'audio/wav', sampleWav(this.random, this.random.int(1, 4) / 10))
      : null;
    const call: Record<string, unknown> = { durationSeconds, status };
    // Both spellings of "no recording" occur: null and absent.
    if (recording || this.random.chance(0.5)) call.recording = recording;
    const record = this.message(
      id, 'voice', outbound ? 'outbound' : 'inbound', timeInMs,
      outbound ? this.userParticipant(user) : counterpart,
      [outbound ? counterpart : this.userParticipant(user)],
      null, null,
    );
    return { ...record, call };
  }

  private message(
    id: string, type: Kind, direction: 'inbound' | 'outbound', timeInMs: number,
    from: Participant, to: Participant[], text: string | null, conversationId: string | null,
  ): Record<string, unknown> {
    const record: Record<string, unknown> = { id, type, direction, timestamp: this.timestamp(timeInMs), from, to };
    if (conversationId !== null || this.random.chance(0.3)) record.conversationId = conversationId;
    if (text !== null || this.random.chance(0.5)) record.text = text;
    return record;
  }

  /** Mostly UTC with `Z`; a few with an offset, which the connector must normalise (the instant stays in the day). */
  private timestamp(timeInMs: number): string {
    const iso = new Date(timeInMs).toISOString();
    if (!this.random.chance(0.03)) return iso;
    const offsetMinutes = this.random.pick([60, -300, 330]);
    const local = new Date(timeInMs + offsetMinutes * 60_000).toISOString().slice(0, 23);
    const sign = offsetMinutes < 0 ? '-' : '+';
    const abs = Math.abs(offsetMinutes);
    return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  }

  private pickUser(not?: SampleUser): SampleUser {
    const candidates = not ? this.users.filter((u) => u !== not) : this.users;
    return this.random.pick(candidates);
  }

  private conversation(a: string, b: string): string | null {
    if (!this.random.chance(0.5)) return null;
    const pair = [toE164(a) ?? a, toE164(b) ?? b].sort().join('|');
    return `conv-${createHash('sha256').update(pair).digest('hex').slice(0, 12)}`;
  }

  /** A tenant user as TeleMessage writes them: the number in any form, the email where TeleMessage knows it. */
  private userParticipant(user: SampleUser): Participant {
    return {
      phone: this.writtenForm(user.phone),
      email: this.emailOf(user),
      name: this.random.chance(0.7) ? user.displayName : null,
    };
  }

  /**
   * Carol is known only through the mapping file; Alice half the time by
   * email (the mapping has her too); Grace only by an alias; the others
   * mostly by email, sometimes in another letter case, sometimes not at all.
   */
  private emailOf(user: SampleUser): string | null {
    const local = user.userPrincipalName.split('@')[0];
    if (local === 'carol.white') return null;
    if (local === 'alice.smith') return this.random.chance(0.5) ? user.userPrincipalName : null;
    if (local === 'grace.hall') return this.random.chance(0.9) ? PROXY_ONLY_ADDRESS : null;
    if (!this.random.chance(0.85)) return null;
    if (this.random.chance(0.15)) return user.mail.replace(/^./, (c) => c.toUpperCase()).replace('@contoso', '@Contoso');
    return user.mail;
  }

  private externalNumber(): string {
    return this.random.chance(0.85) ? this.random.pick(EXTERNAL_UK) : this.random.pick(EXTERNAL_FOREIGN);
  }

  private externalParticipant(phone: string): Participant {
    return { phone: phone.startsWith('+44') ? this.writtenForm(phone) : phone, email: null, name: this.random.pick(EXTERNAL_NAMES) };
  }

  /** A UK mobile number as people write it: E.164 half the time, else one of the national and international forms. */
  private writtenForm(e164: string): string {
    if (!e164.startsWith('+447') || this.random.chance(0.5)) return e164;
    const subscriber = e164.slice(3); // 7700900201
    const spaced = `${subscriber.slice(0, 4)} ${subscriber.slice(4)}`;
    return this.random.pick([`0${subscriber}`, `0${spaced}`, e164.slice(1), `+44 (0)${spaced}`, `0044 ${spaced}`, `+44 ${spaced}`]);
  }
}

// ---- expectations ----------------------------------------------------------

function expectations(
  records: unknown[], fixtures: number, generated: number, invalid: number,
  bigItems: SampleDayExpectations['bigItems'], maxItemBytes: number, root: string,
): SampleDayExpectations {
  const byType: Record<ItemType, number> = { sms: 0, mms: 0, voice: 0 };
  const tooLarge: string[] = [];
  const unmapped: string[] = [];
  const mapping = readSampleMapping(root);
  const tenantAddresses = new Set(sampleTenant().flatMap(addressesOf));
  const finds = (p: Participant) => {
    const e164 = toE164(p.phone);
    return (e164 !== null && mapping.has(e164)) || (typeof p.email === 'string' && tenantAddresses.has(p.email.toLowerCase()));
  };
  for (const record of records) {
    const result = validateRecord(record);
    if (!result.ok) continue;
    byType[result.item.type]++;
    if (itemSizeInBytes(result.item) > maxItemBytes) tooLarge.push(result.item.id);
    if (![result.item.from, ...result.item.to].some(finds)) unmapped.push(result.item.id);
  }
  return { records: records.length, fixtures, generated, invalid, byType, bigItems, tooLarge, unmapped };
}

/** E.164 numbers of the sample mapping (the fixtures' telemessage-format.csv) whose mailbox is a tenant user. */
function readSampleMapping(root: string): Set<string> {
  const file = path.join(root, 'fixtures', 'mapping', 'telemessage-format.csv');
  const tenant = new Set(sampleTenant().flatMap(addressesOf));
  const numbers = new Set<string>();
  for (const line of readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const [phone, mailbox] = line.split(',').map((cell) => cell.trim());
    const e164 = phone ? toE164(phone) : null;
    if (e164 && mailbox && tenant.has(mailbox.toLowerCase())) numbers.add(e164);
  }
  return numbers;
}
