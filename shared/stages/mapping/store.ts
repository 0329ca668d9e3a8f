/**
 * The user mapping in force, in blob storage (container `mapping`):
 * `current.csv` (the canonical form of the last file accepted),
 * `versions/<stamp>.csv` (each mapping as it was before a replacement) and
 * `changes/<stamp>.json` (who replaced it, when, and what changed).
 */
import type { ContainerClient } from '@azure/storage-blob';
import { ArchiverError } from '../../model/errors';
import {
  diffMappings,
  formatMappingCsv,
  mappingTableOf,
  parseMappingCsv,
  type MappingDiff,
  type MappingTable,
  type MappingValidation,
} from './csv';

export interface MappingStoreOptions {
  /** Region for numbers written without a country code (`DEFAULT_PHONE_REGION`). */
  defaultRegion: string;
  /** The clock, for tests; defaults to the system clock. */
  now?: () => Date;
}

export interface ReplaceMappingOptions {
  /** Who replaced the mapping (a user name, or the caller's identity). */
  who: string;
}

/** The record of one replacement, kept as `changes/<stamp>.json` (full numbers: it is for admins). */
export interface MappingChange extends MappingDiff {
  who: string;
  /** ISO 8601 UTC. */
  when: string;
  /** How many numbers the new mapping maps. */
  numbers: number;
  /** The blob holding the mapping as it was before, or null when there was none. */
  previousVersion: string | null;
}

export type ReplaceMappingResult =
  | { ok: true; validation: MappingValidation; change: MappingChange; changeRecord: string }
  | { ok: false; validation: MappingValidation };

/** The mapping in force, for `mapping show`. */
export interface MappingSnapshot {
  table: MappingTable;
  /** The canonical CSV in force, or null when no mapping was ever uploaded. */
  csv: string | null;
  /** When and by whom it was last replaced (null when unknown). */
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface MappingStore {
  /** The mapping in force (empty when none was uploaded). */
  current(): Promise<MappingTable>;
  /** The canonical CSV in force, or null when none was uploaded. */
  currentCsv(): Promise<string | null>;
  /** Validates `csvText` and, only when it has no error, makes it the mapping in force. */
  replace(csvText: string, options: ReplaceMappingOptions): Promise<ReplaceMappingResult>;
  /** The mapping in force with who last replaced it and when. */
  show(): Promise<MappingSnapshot>;
}

export const MappingBlobNames = {
  current: 'current.csv',
  versionsPrefix: 'versions/',
  changesPrefix: 'changes/',
} as const;

// Two uploads racing each re-read what is in force and try again; more
// attempts than this means something keeps rewriting the blob.
const MAX_REPLACE_ATTEMPTS = 5;

/** The mapping store over one blob container. */
export function createMappingStore(container: ContainerClient, options: MappingStoreOptions): MappingStore {
  const now = options.now ?? (() => new Date());
  const currentBlob = container.getBlockBlobClient(MappingBlobNames.current);

  async function readCurrent(): Promise<{ text: string; etag: string; metadata: Record<string, string> } | null> {
    try {
      const response = await currentBlob.download(0);
      const text = (await streamToBuffer(response.readableStreamBody)).toString('utf8');
      return { text, etag: response.etag ?? '', metadata: response.metadata ?? {} };
    } catch (e) {
      if (statusOf(e) === 404) return null; // no container or no mapping yet: nothing is mapped
      throw e;
    }
  }

  function tableOf(text: string): MappingTable {
    // The stored file is canonical (E.164), so its meaning cannot drift with
    // DEFAULT_PHONE_REGION; lines that fail now are left out rather than
    // stopping every run.
    return mappingTableOf(parseMappingCsv(text, { defaultRegion: options.defaultRegion }).entries);
  }

  async function current(): Promise<MappingTable> {
    const found = await readCurrent();
    return found ? tableOf(found.text) : new Map();
  }

  async function currentCsv(): Promise<string | null> {
    return (await readCurrent())?.text ?? null;
  }

  async function show(): Promise<MappingSnapshot> {
    const found = await readCurrent();
    if (!found) return { table: new Map(), csv: null, updatedAt: null, updatedBy: null };
    return {
      table: tableOf(found.text),
      csv: found.text,
      updatedAt: found.metadata.replacedat ?? null,
      updatedBy: found.metadata.replacedby ? decodeURIComponent(found.metadata.replacedby) : null,
    };
  }

  async function replace(csvText: string, replaceOptions: ReplaceMappingOptions): Promise<ReplaceMappingResult> {
    const validation = parseMappingCsv(csvText, { defaultRegion: options.defaultRegion });
    if (!validation.ok) return { ok: false, validation };

    const next = mappingTableOf(validation.entries);
    const nextCsv = formatMappingCsv(next);
    await container.createIfNotExists();

    for (let attempt = 1; attempt <= MAX_REPLACE_ATTEMPTS; attempt++) {
      const previous = await readCurrent();
      const when = now().toISOString();
      const stamp = await freeStamp(when);

      // The previous version is kept before the switch, so a crash between the
      // two writes leaves an extra copy, never a lost one.
      let previousVersion: string | null = null;
      if (previous) {
        previousVersion = `${MappingBlobNames.versionsPrefix}${stamp}.csv`;
        try {
          await uploadText(previousVersion, previous.text, 'text/csv; charset=utf-8', { ifNoneMatch: '*' }, previous.metadata);
        } catch (e) {
          if (statusOf(e) === 409) continue; // another upload took this stamp this very moment
          throw e;
        }
      }

      // The switch itself: conditional on the version just read, so two
      // uploads cannot interleave; the loser re-reads and goes again.
      try {
        await uploadText(
          MappingBlobNames.current,
          nextCsv,
          'text/csv; charset=utf-8',
          previous ? { ifMatch: previous.etag } : { ifNoneMatch: '*' },
          { replacedat: when, replacedby: encodeURIComponent(replaceOptions.who) },
        );
      } catch (e) {
        const status = statusOf(e);
        if (status !== 412 && status !== 409) throw e;
        // Another upload switched first: the copy just kept is not a version
        // that this upload replaced; the next attempt keeps the right one.
        if (previousVersion) await container.getBlockBlobClient(previousVersion).deleteIfExists();
        continue;
      }

      const before = previous ? tableOf(previous.text) : new Map<string, string>();
      const change: MappingChange = {
        who: replaceOptions.who,
        when,
        numbers: next.size,
        previousVersion,
        ...diffMappings(before, next),
      };
      const changeRecord = await writeChangeRecord(stamp, change);
      return { ok: true, validation, change, changeRecord };
    }
    throw new ArchiverError('CONFLICT', `The user mapping changed under ${MAX_REPLACE_ATTEMPTS} attempts to replace it; try again`, {
      retryable: true,
    });
  }

  /**
   * A stamp (`20261125T100000123Z`) no change record uses yet: two replacements
   * in the same millisecond get `-1`, `-2`… so neither overwrites the other.
   */
  async function freeStamp(when: string): Promise<string> {
    const base = when.replace(/[-:.]/g, '');
    for (let n = 0; ; n++) {
      const stamp = n === 0 ? base : `${base}-${n}`;
      const taken = await container.getBlockBlobClient(`${MappingBlobNames.changesPrefix}${stamp}.json`).exists();
      const versionTaken = await container.getBlockBlobClient(`${MappingBlobNames.versionsPrefix}${stamp}.csv`).exists();
      if (!taken && !versionTaken) return stamp;
    }
  }

  /** Writes the change record under `stamp`, or a suffixed stamp should a racing upload hold it. */
  async function writeChangeRecord(stamp: string, change: MappingChange): Promise<string> {
    for (let n = 0; ; n++) {
      const name = `${MappingBlobNames.changesPrefix}${n === 0 ? stamp : `${stamp}-c${n}`}.json`;
      try {
        await uploadText(name, JSON.stringify(change, null, 2), 'application/json', { ifNoneMatch: '*' });
        return name;
      } catch (e) {
        if (statusOf(e) !== 409 || n >= 10) throw e;
      }
    }
  }

  async function uploadText(
    name: string,
    text: string,
    contentType: string,
    conditions: { ifMatch?: string; ifNoneMatch?: string },
    metadata?: Record<string, string>,
  ): Promise<void> {
    const body = Buffer.from(text, 'utf8');
    await container.getBlockBlobClient(name).upload(body, body.length, {
      conditions,
      metadata,
      blobHTTPHeaders: { blobContentType: contentType },
    });
  }

  return { current, currentCsv, replace, show };
}

function statusOf(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'statusCode' in e ? (e as { statusCode?: number }).statusCode : undefined;
}

async function streamToBuffer(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
