/**
 * The emulated tenant: its users (directory) and their mailboxes (folders,
 * messages, attachments, upload sessions), kept in memory and, with a state
 * directory, on disk: one JSON file per message written before the response
 * leaves (so a killed emulator loses nothing it acknowledged), and each
 * message also as `.eml` under `mailboxes/<upn>/<folder>/<item id>.eml`
 * (the CLI contract's layout).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { renderMime } from './mime';
import { parseExtendedPropertyId, canonicalExtendedPropertyId } from './extendedProperties';
import type { StoredFolder, StoredMessage, TenantUser, TenantUserInput } from './types';

/** The archiver's item-id named property; names the .eml file of a message. */
export const ITEM_ID_PROPERTY = 'String {e264df5e-3813-4e29-bc56-d084eb5a95a3} Name O2ArchiverItemId';
const ITEM_ID_CANONICAL = canonicalExtendedPropertyId(parseExtendedPropertyId(ITEM_ID_PROPERTY)!);

/** Top-level folders of a new Exchange Online mailbox, with their well-known names. */
const DEFAULT_FOLDERS: { displayName: string; wellKnownName: string }[] = [
  { displayName: 'Archive', wellKnownName: 'archive' },
  { displayName: 'Conversation History', wellKnownName: 'conversationhistory' },
  { displayName: 'Deleted Items', wellKnownName: 'deleteditems' },
  { displayName: 'Drafts', wellKnownName: 'drafts' },
  { displayName: 'Inbox', wellKnownName: 'inbox' },
  { displayName: 'Junk Email', wellKnownName: 'junkemail' },
  { displayName: 'Outbox', wellKnownName: 'outbox' },
  { displayName: 'Sent Items', wellKnownName: 'sentitems' },
];

/** An Exchange-looking opaque id: base64url with a trailing `=`, so clients must URL-encode it. */
export function newExchangeId(prefix = 'AAMkAG', bytes = 96): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}=`;
}

/** A stable GUID-shaped object id made from a UPN (the same tenant gives the same ids on every start). */
export function objectIdFor(upn: string): string {
  const h = createHash('sha256').update(`o2-graph-emulator:${upn.toLowerCase()}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Makes a name safe as one path segment on any file system, reversibly: bytes
 * outside a conservative set are percent-encoded (so two different ids never
 * map to one file), Windows device names and trailing dots/spaces are escaped,
 * and very long names are cut with a hash suffix.
 */
export function fileSafeName(name: string): string {
  let out = '';
  for (const ch of name) {
    if (/^[A-Za-z0-9 ._\-+@=,()]$/.test(ch)) out += ch;
    else out += [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
  if (out === '' || out === '.' || out === '..') out = out.replace(/\./g, '%2E') || '%00';
  if (out.startsWith('.')) out = `%2E${out.slice(1)}`;
  out = out.replace(/[. ]$/, (c) => (c === '.' ? '%2E' : '%20'));
  if (/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(out)) out = `%${out.charCodeAt(0).toString(16).toUpperCase()}${out.slice(1)}`;
  if (Buffer.byteLength(out) > 180) {
    const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
    out = `${out.slice(0, 160)}~${hash}`;
  }
  return out;
}

export interface UploadSession {
  id: string;
  token: string;
  userId: string;
  messageId: string;
  name: string;
  size: number;
  contentType: string;
  isInline: boolean;
  contentId: string | null;
  expiresAt: number;
  received: number;
}

interface Mailbox {
  folders: Map<string, StoredFolder>;
  messages: Map<string, StoredMessage>;
  rootId: string;
  /** message id -> relative .eml path. */
  emlPaths: Map<string, string>;
}

function atomicWrite(file: string, data: string | Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

/** The tenant and its mailboxes; read by tests through `GraphEmulator.store`. */
export class GraphStore {
  readonly users: TenantUser[];
  private readonly mailboxes = new Map<string, Mailbox>();
  private readonly sessions = new Map<string, { meta: UploadSession; chunks: Buffer[] }>();
  /** When each message was first stored in this process (for the \$filter lag switch). */
  private readonly storedAt = new Map<string, number>();

  constructor(users: TenantUserInput[], readonly stateDir?: string) {
    this.users = users.map((u) => ({
      id: (u.id ?? objectIdFor(u.userPrincipalName)).toLowerCase(),
      displayName: u.displayName,
      userPrincipalName: u.userPrincipalName,
      mail: u.mail ?? null,
      proxyAddresses: u.proxyAddresses ?? (u.mail ? [`SMTP:${u.mail}`] : []),
      hasMailbox: u.hasMailbox !== false,
    }));
    if (stateDir) this.load();
  }

  private get dataDir(): string {
    return path.join(this.stateDir!, 'graph-emulator');
  }

  /** Finds a user by object id or user principal name, as `/users/{id | userPrincipalName}` does (case-insensitive). */
  findUser(idOrUpn: string): TenantUser | undefined {
    const key = idOrUpn.toLowerCase();
    return this.users.find((u) => u.id === key || u.userPrincipalName.toLowerCase() === key);
  }

  /** The mailbox of a user, created with Exchange's default folders on first use. */
  mailbox(userId: string): Mailbox {
    let mb = this.mailboxes.get(userId);
    if (!mb) {
      const rootId = newExchangeId('AAMkAGroot', 30);
      mb = { folders: new Map(), messages: new Map(), rootId, emlPaths: new Map() };
      const created = new Date().toISOString();
      for (const f of DEFAULT_FOLDERS) {
        const folder: StoredFolder = { id: newExchangeId('AQMkAD', 40), displayName: f.displayName, parentFolderId: rootId, wellKnownName: f.wellKnownName, createdDateTime: created };
        mb.folders.set(folder.id, folder);
      }
      this.mailboxes.set(userId, mb);
      this.saveFolders(userId);
    }
    return mb;
  }

  /** A folder by id or well-known name (`inbox`, `drafts`, …, `msgfolderroot`). */
  findFolder(userId: string, idOrName: string): StoredFolder | undefined {
    const mb = this.mailbox(userId);
    const direct = mb.folders.get(idOrName);
    if (direct) return direct;
    const lower = idOrName.toLowerCase();
    if (lower === 'msgfolderroot' || idOrName === mb.rootId) {
      return { id: mb.rootId, displayName: 'Top of Information Store', parentFolderId: '', wellKnownName: 'msgfolderroot', createdDateTime: '' };
    }
    for (const f of mb.folders.values()) if (f.wellKnownName === lower) return f;
    return undefined;
  }

  /** Child folders of a parent, in display-name order. */
  childFolders(userId: string, parentId: string): StoredFolder[] {
    return [...this.mailbox(userId).folders.values()]
      .filter((f) => f.parentFolderId === parentId)
      .sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  /** Root folder id of a mailbox (parent of the top-level folders). */
  rootId(userId: string): string {
    return this.mailbox(userId).rootId;
  }

  /** Adds a folder (the caller has checked for duplicates). */
  addFolder(userId: string, displayName: string, parentId: string): StoredFolder {
    const folder: StoredFolder = { id: newExchangeId('AAMkAG', 40), displayName, parentFolderId: parentId, createdDateTime: new Date().toISOString() };
    this.mailbox(userId).folders.set(folder.id, folder);
    this.saveFolders(userId);
    return folder;
  }

  /** Messages of a mailbox, optionally of one folder. */
  messages(userId: string, folderId?: string): StoredMessage[] {
    const all = [...this.mailbox(userId).messages.values()];
    return folderId ? all.filter((m) => m.folderId === folderId) : all;
  }

  /** One message by id. */
  message(userId: string, messageId: string): StoredMessage | undefined {
    return this.mailbox(userId).messages.get(messageId);
  }

  /** Saves a new or changed message: JSON state and its .eml, before the caller answers. */
  async putMessage(userId: string, message: StoredMessage): Promise<void> {
    if (!this.storedAt.has(message.id)) this.storedAt.set(message.id, Date.now());
    this.mailbox(userId).messages.set(message.id, message);
    if (!this.stateDir) return;
    atomicWrite(this.messageFile(userId, message.id), JSON.stringify(message));
    await this.writeEml(userId, message);
  }

  /** True when a message was stored less than `lagInMs` ago: a \$filter does not see it yet. */
  storedWithin(messageId: string, lagInMs: number): boolean {
    const at = this.storedAt.get(messageId);
    return at !== undefined && Date.now() - at < lagInMs;
  }

  /**
   * Moves a message to another folder as Exchange does: the moved item gets a
   * new id (ids are not immutable by default) and keeps everything else.
   */
  async moveMessage(userId: string, messageId: string, folderId: string): Promise<StoredMessage> {
    const old = this.mailbox(userId).messages.get(messageId)!;
    const moved: StoredMessage = { ...old, id: newExchangeId(), folderId };
    this.deleteMessage(userId, messageId);
    await this.putMessage(userId, moved);
    return moved;
  }

  /** Removes a message and its files. */
  deleteMessage(userId: string, messageId: string): void {
    const mb = this.mailbox(userId);
    mb.messages.delete(messageId);
    this.storedAt.delete(messageId);
    if (!this.stateDir) return;
    rmSync(this.messageFile(userId, messageId), { force: true });
    const rel = mb.emlPaths.get(messageId);
    if (rel) rmSync(path.join(this.stateDir, rel), { force: true });
    mb.emlPaths.delete(messageId);
  }

  /** The item id a message's .eml is named after: the named property, else the X-O2Archiver-Item-Id header, else the message id. */
  itemIdOf(message: StoredMessage): string {
    const prop = message.singleValueExtendedProperties.find((p) => p.id === ITEM_ID_CANONICAL);
    if (prop) return prop.value;
    const header = message.internetMessageHeaders.find((h) => h.name.toLowerCase() === 'x-o2archiver-item-id');
    return header?.value ?? message.id;
  }

  /** Where a message's .eml lives, relative to the state directory. */
  emlPathOf(userId: string, messageId: string): string | undefined {
    return this.mailbox(userId).emlPaths.get(messageId);
  }

  private async writeEml(userId: string, message: StoredMessage): Promise<void> {
    const user = this.users.find((u) => u.id === userId)!;
    const mb = this.mailbox(userId);
    const folder = mb.folders.get(message.folderId);
    const folderName = folder?.displayName ?? 'Top of Information Store';
    let rel = mb.emlPaths.get(message.id);
    const dir = path.join('mailboxes', fileSafeName(user.userPrincipalName.toLowerCase()), fileSafeName(folderName));
    if (!rel || path.dirname(rel) !== dir) {
      if (rel) rmSync(path.join(this.stateDir!, rel), { force: true });
      // A second message with the same item id gets its own file, so duplicates show.
      const taken = new Set(mb.emlPaths.values());
      const base = fileSafeName(this.itemIdOf(message));
      rel = path.join(dir, `${base}.eml`);
      for (let n = 2; taken.has(rel); n++) rel = path.join(dir, `${base} (${n}).eml`);
      mb.emlPaths.set(message.id, rel);
    }
    atomicWrite(path.join(this.stateDir!, rel), await renderMime(message));
  }

  private messageFile(userId: string, messageId: string): string {
    // Hash the id: Exchange ids differ only in letter case, which a case-insensitive file system would merge.
    return path.join(this.dataDir, 'mailboxes', userId, 'messages', `${createHash('sha1').update(messageId).digest('hex')}.json`);
  }

  private saveFolders(userId: string): void {
    if (!this.stateDir) return;
    const mb = this.mailboxes.get(userId)!;
    atomicWrite(path.join(this.dataDir, 'mailboxes', userId, 'folders.json'),
      JSON.stringify({ rootId: mb.rootId, folders: [...mb.folders.values()] }));
  }

  private load(): void {
    for (const user of this.users) {
      const dir = path.join(this.dataDir, 'mailboxes', user.id);
      const foldersFile = path.join(dir, 'folders.json');
      if (!existsSync(foldersFile)) continue;
      const saved = JSON.parse(readFileSync(foldersFile, 'utf8')) as { rootId: string; folders: StoredFolder[] };
      const mb: Mailbox = { folders: new Map(saved.folders.map((f) => [f.id, f])), messages: new Map(), rootId: saved.rootId, emlPaths: new Map() };
      const messagesDir = path.join(dir, 'messages');
      if (existsSync(messagesDir)) {
        for (const file of readdirSync(messagesDir)) {
          if (!file.endsWith('.json')) continue;
          const m = JSON.parse(readFileSync(path.join(messagesDir, file), 'utf8')) as StoredMessage;
          mb.messages.set(m.id, m);
        }
      }
      this.mailboxes.set(user.id, mb);
      // Re-derive the .eml names in creation order, so that a duplicate keeps its "(2)".
      const userDir = path.join('mailboxes', fileSafeName(user.userPrincipalName.toLowerCase()));
      const ordered = [...mb.messages.values()].sort((a, b) => a.createdDateTime.localeCompare(b.createdDateTime) || a.id.localeCompare(b.id));
      for (const m of ordered) {
        const dirRel = path.join(userDir, fileSafeName(mb.folders.get(m.folderId)?.displayName ?? 'Top of Information Store'));
        const base = fileSafeName(this.itemIdOf(m));
        const taken = new Set(mb.emlPaths.values());
        let rel = path.join(dirRel, `${base}.eml`);
        for (let n = 2; taken.has(rel); n++) rel = path.join(dirRel, `${base} (${n}).eml`);
        mb.emlPaths.set(m.id, rel);
      }
    }
    const sessionsDir = path.join(this.dataDir, 'sessions');
    if (existsSync(sessionsDir)) {
      for (const file of readdirSync(sessionsDir)) {
        if (!file.endsWith('.json')) continue;
        const meta = JSON.parse(readFileSync(path.join(sessionsDir, file), 'utf8')) as UploadSession;
        const bin = path.join(sessionsDir, `${meta.id}.bin`);
        const bytes = existsSync(bin) ? readFileSync(bin) : Buffer.alloc(0);
        meta.received = bytes.length;
        this.sessions.set(meta.id, { meta, chunks: bytes.length ? [bytes] : [] });
      }
    }
  }

  // ---- upload sessions ---------------------------------------------------

  /** Opens an upload session for an attachment. */
  createSession(meta: Omit<UploadSession, 'id' | 'token' | 'received'>): UploadSession {
    const session: UploadSession = { ...meta, id: newExchangeId('AAMkADSession', 24).replace(/=$/, ''), token: randomBytes(24).toString('base64url'), received: 0 };
    this.sessions.set(session.id, { meta: session, chunks: [] });
    if (this.stateDir) atomicWrite(path.join(this.dataDir, 'sessions', `${session.id}.json`), JSON.stringify(session));
    return session;
  }

  /** An upload session and what it has received so far. */
  session(id: string): { meta: UploadSession; chunks: Buffer[] } | undefined {
    return this.sessions.get(id);
  }

  /** Appends the next in-order chunk of a session. */
  appendToSession(id: string, chunk: Buffer): void {
    const s = this.sessions.get(id)!;
    s.chunks.push(chunk);
    s.meta.received += chunk.length;
    if (this.stateDir) appendFileSync(path.join(this.dataDir, 'sessions', `${id}.bin`), chunk);
  }

  /** Closes a session (finished, cancelled or expired). */
  dropSession(id: string): void {
    this.sessions.delete(id);
    if (!this.stateDir) return;
    rmSync(path.join(this.dataDir, 'sessions', `${id}.json`), { force: true });
    rmSync(path.join(this.dataDir, 'sessions', `${id}.bin`), { force: true });
  }

  // ---- read access for tests ---------------------------------------------

  /** A user by id, UPN, or any address they answer to. */
  userByAddress(address: string): TenantUser | undefined {
    const a = address.toLowerCase();
    return this.findUser(address)
      ?? this.users.find((u) => u.mail?.toLowerCase() === a || u.proxyAddresses.some((p) => p.toLowerCase() === `smtp:${a}`));
  }

  /** Every message of a user (by id, UPN or address), optionally only in the folder with this display name. */
  listMessages(user: string, folderDisplayName?: string): StoredMessage[] {
    const u = this.userByAddress(user);
    if (!u) return [];
    const mb = this.mailbox(u.id);
    const folder = folderDisplayName === undefined
      ? undefined
      : [...mb.folders.values()].find((f) => f.displayName.toLowerCase() === folderDisplayName.toLowerCase());
    if (folderDisplayName !== undefined && !folder) return [];
    return this.messages(u.id, folder?.id);
  }

  /** Folders of a user's mailbox. */
  listFolders(user: string): StoredFolder[] {
    const u = this.userByAddress(user);
    return u ? [...this.mailbox(u.id).folders.values()] : [];
  }
}
