/**
 * The canary, `o2-archiver check --canary <mailbox>`: proves on the customer's
 * tenant, in well under a minute, each Graph behaviour that the import (and
 * the Graph emulator the tests run against) takes for granted, and says for
 * each one `confirmed` or what Graph did instead, with the setting to use.
 *
 * It creates one message in the archive folder of the mailbox exactly as the
 * importer does (shared/stages/import/message.ts builds it: PR_MESSAGE_FLAGS, the
 * delivery and submit times, internetMessageId, the x- headers, the named
 * properties, an inline attachment), reads it back, adds a file to it after
 * creation by a POST and by an upload session just over the session minimum,
 * finds it by `$filter` on the named property and on internetMessageId, and
 * then deletes it for good (permanentDelete, never a DELETE, which would
 * leave it in Deleted Items), whatever happened before.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Settings } from '../../platform/config';
import { describeError } from '../../model/errors';
import { itemKey as keyOfItem } from '../../model/item';
import {
  buildMessage,
  fileAttachment,
  ITEM_ID_PROPERTY,
  UPLOAD_SESSION_MIN_BYTES,
  namedStringProperty,
  splitArchiverHeaders,
  toSecond,
} from './message';
import type { ArchivedEmail } from '../../model/stages';
import { createGraphClient, type GraphClient, type GraphClientOptions, bufferSource } from '../../platform/graph/client';
import { isGraphRequestError } from '../../platform/graph/errors';
import {
  attachLargeFile,
  countMatching,
  createFolderResolver,
  createMessage,
  findMessagesByInternetMessageId,
  findMessagesByProperty,
  listAttachments,
  permanentlyDeleteMessage,
  postAttachment,
  q,
  seg,
} from '../../platform/graph/mailbox';

/** The behaviours the canary proves, in the order it proves them. */
export const CANARY_CHECKS = [
  'create',
  'not-a-draft',
  'received-time',
  'internet-message-id',
  'named-property',
  'x-headers',
  'inline-attachment',
  'attachment-post',
  'attachment-upload-session',
  'filter-named-property',
  'filter-internet-message-id',
  'permanent-delete',
] as const;

export type CanaryCheckName = (typeof CANARY_CHECKS)[number];

/** `confirmed`: Graph did what the import assumes; `differs`: it answered, otherwise; `failed`: the call failed; `skipped`: nothing to test it on. */
export type CanaryOutcome = 'confirmed' | 'differs' | 'failed' | 'skipped';

export interface CanaryCheck {
  name: CanaryCheckName;
  outcome: CanaryOutcome;
  /** What Graph did instead, or why the call failed. */
  detail?: string;
  /** What to do about it. */
  advice?: string;
}

export interface CanaryResult {
  ok: boolean;
  checks: CanaryCheck[];
  lines: string[];
}

export interface CanaryOptions extends GraphClientOptions {
  /** A ready client (tests); built from the settings otherwise. */
  client?: GraphClient;
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  /** The waits between looks while a filter does not find the message yet; their sum bounds the wait. */
  findWaitsInMs?: readonly number[];
}

/** What each check proves, as the report says it. */
const BEHAVIOUR: Record<CanaryCheckName, string> = {
  create: 'a message created from JSON as the importer sends it (flags, times, headers, named properties, an inline file)',
  'not-a-draft': 'PR_MESSAGE_FLAGS at creation: the message is not a draft',
  'received-time': "PR_MESSAGE_DELIVERY_TIME: the message shows the item's time as received",
  'internet-message-id': 'internetMessageId is kept',
  'named-property': 'the named property O2ArchiverItemId (and the other X-O2Archiver values) are kept',
  'x-headers': 'the x- internet message headers are kept',
  'inline-attachment': 'an attachment sent inline with the create is there',
  'attachment-post': 'a file added after creation to the non-draft message by POST',
  'attachment-upload-session': 'a file added after creation by an upload session (just over the 3 MB minimum)',
  'filter-named-property': '$filter on the named property finds the message',
  'filter-internet-message-id': '$filter on internetMessageId finds the message',
  'permanent-delete': 'permanentDelete removes the canary for good (not to Deleted Items)',
};

/** What to set, or do, when Graph differs. */
const ADVICE: Partial<Record<CanaryCheckName, string>> = {
  'not-a-draft': 'set GRAPH_IMPORT_MODE=importMime: the beta importMime action creates received messages from the .eml (README "Deploy", step 4)',
  'received-time': 'set GRAPH_IMPORT_MODE=importMime: it takes the time from the .eml\'s Date header (README "Deploy", step 4)',
  'internet-message-id': 'report it with this output: a re-import after a lost answer in importMime mode finds messages by it',
  'named-property': 'report it with this output: the importer finds its messages again by this property',
  'x-headers': 'report it with this output: the .eml in storage keeps every header',
  'inline-attachment': 'report it with this output: items with attachments would come out partial',
  'attachment-post':
    'nothing to set: attachments that do not fit the 4 MB create request come out partial, listed in the message body, and stay in the .eml in storage (README "Deploy", step 4)',
  'attachment-upload-session': 'as for the POST: files over 3 MB come out partial, listed in the body, and stay in the .eml in storage',
  'filter-named-property':
    'set GRAPH_IMPORT_MODE=importMime: after a lost answer it finds messages by internetMessageId (items over 4 MB still use the named property)',
  'filter-internet-message-id': 'keep GRAPH_IMPORT_MODE=json: importMime finds lost imports by internetMessageId',
  'permanent-delete': 'delete the canary message by hand (its subject starts "O2 Network Archiver canary")',
};

/** What to do when a filter sees a new message only after a while: the importer must wait at least that long before it looks. */
const LAG_ADVICE = (seconds: number) =>
  `the importer must not look for a lost create sooner: keep GRAPH_LOOKUP_SETTLE_SECONDS at ${seconds} or more`;

/** When Graph's upload-session minimum is above the importer's reading of "3 MB". */
const SESSION_MINIMUM_ADVICE =
  "report it with this output: the importer sends files from 3,000,000 bytes by an upload session (UPLOAD_SESSION_MIN_BYTES), and files between that and Graph's minimum would come out partial";

/** Just over the upload-session minimum (3 MB), so that the session's smallest case is what is proved. */
export const CANARY_UPLOAD_BYTES = UPLOAD_SESSION_MIN_BYTES + 1024;
/** How long to wait, look after look, for a filter to see the message (Graph promises no read-after-write for $filter): 15.5 s at most. */
const FIND_WAITS_IN_MS = [500, 1000, 2000, 4000, 8000] as const;

/** The canary as an archived email, as the converter would make it: its own item id, a time three days back. */
export function canaryEmail(now: Date, mailbox: string, nonce: string = randomBytes(6).toString('hex')): ArchivedEmail {
  const itemId = `o2-archiver-canary-${nonce}`;
  const date = toSecond(new Date(now.getTime() - 3 * 86_400_000).toISOString());
  const text = `O2 Network Archiver canary ${nonce}: a test message that the canary deletes for good at once.`;
  return {
    itemId,
    itemKey: keyOfItem(itemId),
    itemType: 'sms',
    messageId: `${itemId}@o2-network-archiver`,
    date,
    subject: `O2 Network Archiver canary ${nonce} (deleted by the canary)`,
    from: { name: 'O2 Network Archiver canary (+447700900000)', address: '447700900000@mobile.invalid' },
    to: [{ name: mailbox, address: mailbox }],
    text,
    archiverHeaders: {
      'X-O2Archiver-Item-Id': itemId,
      'X-O2Archiver-Item-Type': 'sms',
      'X-O2Archiver-Direction': 'inbound',
      'X-O2Archiver-Source-SHA256': createHash('sha256').update(text).digest('hex'),
      'X-O2Archiver-Conversation-Id': `canary-${nonce}`,
      'X-O2Archiver-Canary': 'true',
    },
    references: `<${itemId}@o2-network-archiver>`,
    threadTopic: 'O2 Network Archiver canary',
    attachments: [],
  };
}

/** Records one check's outcome (with what Graph did, and what to do about it, where there is something to say). */
type Recorder = (name: CanaryCheckName, outcome: CanaryOutcome, detail?: string, advice?: string) => void;

interface ReadBack {
  isDraft?: boolean;
  receivedDateTime?: string;
  internetMessageId?: string;
  internetMessageHeaders?: { name: string; value: string }[];
  singleValueExtendedProperties?: { id: string; value: string }[];
}

/** Extended property ids compare as Exchange compares them: type and GUID in any case. */
function sameProperty(a: string, b: string): boolean {
  const norm = (s: string) => s.replace(/\{[0-9a-f-]+\}/i, (g) => g.toLowerCase()).replace(/^(\w+)/, (t) => t.toLowerCase());
  return norm(a) === norm(b);
}

function why(error: unknown): string {
  return isGraphRequestError(error) ? error.detail : describeError(error);
}

/** Proves each behaviour on `mailbox` (an address or object id) and deletes the canary for good; one line per check. */
export async function runCanary(settings: Settings, mailbox: string, options: CanaryOptions = {}): Promise<CanaryResult> {
  const checks: CanaryCheck[] = [];
  const lines: string[] = [];
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const record: Recorder = (name, outcome, detail, advice) => {
    const given = advice ?? (outcome === 'differs' || outcome === 'failed' ? ADVICE[name] : undefined);
    const check: CanaryCheck = { name, outcome, ...(detail ? { detail } : {}), ...(given ? { advice: given } : {}) };
    checks.push(check);
    const label = outcome === 'confirmed' ? 'confirmed' : outcome.toUpperCase();
    lines.push(`${label.padEnd(9)} ${BEHAVIOUR[name]}${detail ? `: ${detail}` : ''}${check.advice ? ` -> ${check.advice}` : ''}`);
  };
  const finish = (): CanaryResult => {
    const count = (o: CanaryOutcome) => checks.filter((c) => c.outcome === o).length;
    lines.push(`canary: ${count('confirmed')} confirmed, ${count('differs')} differ, ${count('failed')} failed, ${count('skipped')} skipped`);
    return { ok: checks.every((c) => c.outcome === 'confirmed'), checks, lines };
  };

  let graph: GraphClient;
  try {
    graph = options.client ?? createGraphClient(settings, options);
  } catch (error) {
    lines.push(`FAIL      Graph client: ${describeError(error)}`);
    return { ok: false, checks, lines };
  }
  const email = canaryEmail((options.now ?? (() => new Date()))(), mailbox);
  lines.push(`canary in ${mailbox}, folder "${settings.ARCHIVE_FOLDER_NAME}", through ${graph.baseUrl} with ${graph.credentialKind}; item id ${email.itemId}`);

  // 1. Create it, exactly as the importer sends a message with one inline file.
  const inlineBytes = Buffer.from(`inline file of ${email.itemId}\n`, 'utf8');
  const inline = fileAttachment({ fileName: 'canary-inline.txt', contentType: 'text/plain' }, inlineBytes);
  let messageId: string | undefined;
  let folderId = '';
  let createdAt = 0;
  try {
    folderId = await createFolderResolver(graph).ensureFolder(mailbox, settings.ARCHIVE_FOLDER_NAME);
    messageId = await createMessage(graph, mailbox, folderId, JSON.stringify(buildMessage(email, { inline: [inline] })));
    createdAt = Date.now();
    record('create', 'confirmed');
  } catch (error) {
    record('create', 'failed', `${why(error)} (needs Mail.ReadWrite on the mailbox: the Exchange RBAC scope, or a tenant-wide grant)`);
    for (const name of CANARY_CHECKS.slice(1)) record(name, 'skipped');
    return finish();
  }

  try {
    await proveMessage(graph, mailbox, folderId, messageId, email, inlineBytes.length, record, sleep, createdAt, options.findWaitsInMs ?? FIND_WAITS_IN_MS);
  } finally {
    await deleteForGood(graph, mailbox, folderId, messageId, email, record);
  }
  return finish();
}

async function proveMessage(
  graph: GraphClient,
  mailbox: string,
  folderId: string,
  messageId: string,
  email: ArchivedEmail,
  inlineSize: number,
  record: Recorder,
  sleep: (ms: number) => Promise<void>,
  createdAt: number,
  findWaitsInMs: readonly number[],
): Promise<void> {
  const { headers, properties } = splitArchiverHeaders(email);
  const namedIds = [ITEM_ID_PROPERTY, ...properties.map((p) => namedStringProperty(p.name))];
  const base = `/users/${seg(mailbox)}/messages/${seg(messageId)}`;

  // 2. Read it back: draft flag, received time, Message-ID, headers, named properties.
  let message: ReadBack | undefined;
  try {
    const expand = `singleValueExtendedProperties($filter=${namedIds.map((id) => `id eq '${id}'`).join(' or ')})`;
    message = await graph.call('canary: read back', (sdk) =>
      sdk.api(base).select('isDraft,receivedDateTime,internetMessageId,internetMessageHeaders').expand(q(expand)).get() as Promise<ReadBack>,
    );
  } catch (error) {
    for (const name of ['not-a-draft', 'received-time', 'internet-message-id', 'named-property', 'x-headers'] as const) record(name, 'failed', `read back: ${why(error)}`);
  }
  if (message) {
    if (message.isDraft === false) record('not-a-draft', 'confirmed');
    else record('not-a-draft', 'differs', `Graph saved it as a draft (isDraft ${String(message.isDraft)})`);

    const expected = toSecond(email.date);
    const received = message.receivedDateTime ? toSecond(message.receivedDateTime) : undefined;
    if (received === expected) record('received-time', 'confirmed');
    else record('received-time', 'differs', `receivedDateTime is ${received ?? 'absent'}, not the item's ${expected}`);

    const wantedId = `<${email.messageId}>`;
    if (message.internetMessageId === wantedId) record('internet-message-id', 'confirmed');
    else record('internet-message-id', 'differs', `internetMessageId is ${message.internetMessageId ?? 'absent'}, not ${wantedId}`);

    const props = message.singleValueExtendedProperties ?? [];
    const wantedProps = [{ id: ITEM_ID_PROPERTY, value: email.itemId }, ...properties.map((p) => ({ id: namedStringProperty(p.name), value: p.value }))];
    const missingProps = wantedProps.filter((w) => !props.some((p) => sameProperty(p.id, w.id) && p.value === w.value)).map((w) => w.id.replace(/^.* Name /, ''));
    if (missingProps.length === 0) record('named-property', 'confirmed');
    else record('named-property', 'differs', `missing or changed: ${missingProps.join(', ')}`);

    const got = message.internetMessageHeaders ?? [];
    const missingHeaders = headers.filter((h) => !got.some((g) => g.name.toLowerCase() === h.name.toLowerCase() && g.value === h.value)).map((h) => h.name);
    if (missingHeaders.length === 0) record('x-headers', 'confirmed');
    else record('x-headers', 'differs', `missing or changed: ${missingHeaders.join(', ')}`);
  }

  // 3. The inline file, then a file by POST and one by an upload session, on the message as it now is.
  const attachmentCheck = async (name: CanaryCheckName, fileName: string, size: number, add: () => Promise<void>) => {
    try {
      await add();
      const listed = await listAttachments(graph, mailbox, messageId);
      if (countMatching(listed, fileName, size) === 1) record(name, 'confirmed');
      else record(name, 'differs', `Graph accepted it, but the message lists ${listed.map((a) => `${a.name} (${a.size})`).join(', ') || 'no attachments'}`);
    } catch (error) {
      if (isGraphRequestError(error) && error.graphCode === 'ErrorAttachmentSizeShouldNotBeLessThanMinimumSize') {
        // Graph's line between POST and upload session is not where the importer draws it (3,000,000 bytes).
        record(name, 'differs', `Graph refused a session for ${size} bytes: ${error.detail}`, SESSION_MINIMUM_ADVICE);
      } else if (isGraphRequestError(error) && error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 && ![401, 403, 404, 408, 429].includes(error.statusCode)) {
        record(name, 'differs', `Graph refused it: ${error.detail}`);
      } else record(name, 'failed', why(error));
    }
  };
  await attachmentCheck('inline-attachment', 'canary-inline.txt', inlineSize, async () => undefined);
  const postBytes = Buffer.from(`posted file of ${email.itemId}\n`, 'utf8');
  await attachmentCheck('attachment-post', 'canary-post.txt', postBytes.length, () =>
    postAttachment(graph, mailbox, messageId, {
      name: 'canary-post.txt',
      size: postBytes.length,
      json: JSON.stringify(fileAttachment({ fileName: 'canary-post.txt', contentType: 'text/plain' }, postBytes)),
    }),
  );
  const uploadBytes = Buffer.alloc(CANARY_UPLOAD_BYTES, 0x4f);
  await attachmentCheck('attachment-upload-session', 'canary-upload.bin', uploadBytes.length, () =>
    attachLargeFile(graph, mailbox, messageId, { name: 'canary-upload.bin', contentType: 'application/octet-stream' }, bufferSource(uploadBytes)),
  );

  // 4. Find it as the importer does after a lost answer; a filter may see a new message only after a while.
  const findCheck = async (name: CanaryCheckName, find: () => Promise<{ id: string }[]>) => {
    try {
      let found: { id: string }[] = [];
      let missedAt: number | undefined;
      for (let look = 0; ; look++) {
        found = await find();
        if (found.length > 0 || look >= findWaitsInMs.length) break;
        missedAt ??= Date.now() - createdAt;
        await sleep(findWaitsInMs[look]);
      }
      const seconds = (ms: number) => (ms / 1000).toFixed(1);
      if (found.length === 1 && found[0].id === messageId) {
        if (missedAt === undefined) record(name, 'confirmed');
        else {
          const seenAfter = Date.now() - createdAt;
          record(name, 'confirmed', `found ${seconds(seenAfter)} s after the create, not yet at ${seconds(missedAt)} s`, LAG_ADVICE(Math.ceil(seenAfter / 1000)));
        }
      } else if (found.length === 0) {
        const waited = findWaitsInMs.reduce((a, b) => a + b, 0);
        record(name, 'differs', `Graph answered, but found nothing in ${seconds(waited)} s of looking`);
      } else record(name, 'differs', `Graph found ${found.length} message(s), ${found.some((f) => f.id === messageId) ? 'the canary among them' : 'not the canary'}`);
    } catch (error) {
      if (isGraphRequestError(error) && error.statusCode === 400) record(name, 'differs', `Graph refused the filter: ${error.detail}`);
      else record(name, 'failed', why(error));
    }
  };
  // In the archive folder, as the importer looks (a copy in Deleted Items is no archived copy).
  await findCheck('filter-named-property', () => findMessagesByProperty(graph, mailbox, folderId, ITEM_ID_PROPERTY, email.itemId));
  await findCheck('filter-internet-message-id', () => findMessagesByInternetMessageId(graph, mailbox, folderId, `<${email.messageId}>`));
}

/** Deleted Items, by its well-known name: where a plain DELETE would have left the canary. */
const DELETED_ITEMS = 'deleteditems';

/** permanentDelete, then proof that the message is gone: no GET finds it, and no copy is left in the archive folder or in Deleted Items. */
async function deleteForGood(
  graph: GraphClient,
  mailbox: string,
  folderId: string,
  messageId: string,
  email: ArchivedEmail,
  record: Recorder,
): Promise<void> {
  try {
    await permanentlyDeleteMessage(graph, mailbox, messageId);
  } catch (error) {
    record('permanent-delete', 'failed', why(error));
    return;
  }
  try {
    const stillThere = await graph
      .call('canary: read after delete', (sdk) => sdk.api(`/users/${seg(mailbox)}/messages/${seg(messageId)}`).select('id').get() as Promise<{ id: string }>)
      .then(
        (m) => m,
        (error: unknown) => {
          if (isGraphRequestError(error) && error.statusCode === 404) return undefined;
          throw error;
        },
      );
    const copies: string[] = [];
    for (const [where, folder] of [['the archive folder', folderId], ['Deleted Items', DELETED_ITEMS]] as const) {
      const found = await findMessagesByInternetMessageId(graph, mailbox, folder, `<${email.messageId}>`);
      if (found.length > 0) copies.push(`${found.length} in ${where}`);
    }
    if (!stillThere && copies.length === 0) record('permanent-delete', 'confirmed');
    else record('permanent-delete', 'differs', stillThere ? 'the message is still in the mailbox' : `copies left: ${copies.join(', ')}`);
  } catch (error) {
    record('permanent-delete', 'failed', `deleted, but could not be proved gone: ${why(error)}`);
  }
}
