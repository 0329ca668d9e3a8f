/**
 * Blob staging (docs/architecture.md, "Storage layout"): raw source pages,
 * invalid records set aside with their reason, staged items with their media
 * proved against the descriptors' size and SHA-256, and the blobs the later
 * stages keep beside each item. Media are streamed, never held whole.
 */
import { createHash } from 'node:crypto';
import { pipeline, Readable, Transform } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { ArchiverError, isArchiverError } from '../../model/errors';
import { allMedia, itemKey as keyOfItem, itemSizeInBytes, type Item, type MediaDescriptor, type StagedItem } from '../../model/item';
import { uploadInBlocks } from './blocks';
import { itemPrefix as retentionItemPrefix, reopenBlobs } from './retention';
import { RetentionTag } from '../../platform/names';
import { sourceSha256 as canonicalSha256, withoutInlineData } from '../source/validate';
import type { ArchiveSource, ItemBlobName, StageItemResult } from '../../model/stages';

export interface StagingStore {
  /** Creates the staging container if it is missing. */
  ensure(): Promise<void>;
  /** Stores the raw records of one source page; returns the blob name (the claim check). */
  putRawPage(runId: string, pageName: string, records: unknown[]): Promise<string>;
  readRawPage(blobName: string): Promise<unknown[]>;
  /** Sets an invalid record aside with its reason; returns the blob name. */
  putInvalidRecord(runId: string, raw: unknown, detail: string): Promise<string>;
  /** Stores every media of the item (verified); returns the staged item (the caller keeps it in its batch). */
  stageItem(item: Item, sourceSha256: string, source: ArchiveSource | null): Promise<StageItemResult>;
  openMedia(itemKey: string, mediaId: string): Promise<Readable>;
  /**
   * Bytes `start` up to (not including) `end` of a staged media file; read
   * into `into` (at least `end - start` long) when given, so that a caller
   * reading a large file range by range reuses one buffer.
   */
  readMediaRange(itemKey: string, mediaId: string, start: number, end: number, into?: Buffer): Promise<Buffer>;
  mediaBlobName(itemKey: string, mediaId: string): string;
  /** Stores a batch of items between stages (staged or converted) under the run; returns the blob name (the claim check). */
  putBatch(runId: string, kind: 'staged' | 'converted', name: string, batch: unknown): Promise<string>;
  readBatch<T>(blobName: string): Promise<T>;
  /** Stores a blob beside the item (the archival .eml); returns its size in bytes. */
  putItemBlob(itemKey: string, name: ItemBlobName, body: Readable | Buffer | string, contentType: string): Promise<number>;
  openItemBlob(itemKey: string, name: ItemBlobName): Promise<Readable>;
  readItemBlob(itemKey: string, name: ItemBlobName): Promise<Buffer>;
  itemBlobExists(itemKey: string, name: ItemBlobName): Promise<boolean>;
  /** Takes the retention tag off the item's blobs, so that no lifecycle rule deletes them while a run uses them (shared/stages/staging/retention.ts); returns how many it untagged. */
  reopenItem(itemKey: string): Promise<number>;
}

/** The retention tag a run's own blobs carry from the moment they are written (shared/stages/staging/retention.ts). */
const WRITTEN_TAGS = { [RetentionTag.name]: RetentionTag.settled };

/** Blob metadata key holding the verified SHA-256 of a media blob (metadata keys must be C# identifiers). */
const SHA256_METADATA = 'sha256';

/** Why a media file was not what its descriptor promised. */
class MediaMismatch extends Error {}

/** The staging store as the activities use it. */
export type StagingPort = Pick<
  StagingStore,
  'putRawPage' | 'readRawPage' | 'putInvalidRecord' | 'stageItem' | 'openMedia' | 'putItemBlob' | 'putBatch' | 'readBatch' | 'reopenItem'
>;

/** Builds the staging store over one blob container (ContainerNames.staging in the app). */
export function createStagingStore(container: ContainerClient): StagingStore {
  const itemPrefix = (key: string) => `items/${key}`;
  const mediaBlobName = (key: string, mediaId: string) => `${itemPrefix(key)}/media/${sha256Hex(mediaId)}`;
  const itemBlobName = (key: string, name: ItemBlobName) => `${itemPrefix(key)}/${name}`;

  /** A run's working blob (a page, a batch, an invalid record): written once, tagged for retention as it is written (shared/stages/staging/retention.ts). */
  async function putJson(blobName: string, value: unknown): Promise<void> {
    const body = Buffer.from(JSON.stringify(value), 'utf8');
    await container.getBlockBlobClient(blobName).uploadData(body, {
      blobHTTPHeaders: { blobContentType: 'application/json; charset=utf-8' },
      tags: WRITTEN_TAGS,
    });
  }

  async function download(blobName: string): Promise<Readable> {
    try {
      const response = await container.getBlobClient(blobName).download();
      return response.readableStreamBody as Readable;
    } catch (error) {
      throw notFoundOr(error, blobName);
    }
  }

  async function downloadBuffer(blobName: string): Promise<Buffer> {
    try {
      return await container.getBlobClient(blobName).downloadToBuffer();
    } catch (error) {
      throw notFoundOr(error, blobName);
    }
  }

  /**
   * True when the blob is there and was verified against this SHA-256 and
   * size. An earlier run may have settled it: this run uses it again, so its
   * retention tag comes off first (shared/stages/staging/retention.ts).
   */
  async function alreadyStaged(blobName: string, media: MediaDescriptor): Promise<boolean> {
    try {
      const blob = container.getBlobClient(blobName);
      const props = await blob.getProperties();
      const staged = props.metadata?.[SHA256_METADATA] === media.sha256 && props.contentLength === media.size;
      if (staged && (props.tagCount ?? 0) > 0) await blob.setTags({});
      return staged;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw error;
    }
  }

  /**
   * Streams one media file into its blob through a hashing, counting stream,
   * then marks it verified. The mark comes after the check, so a crash in
   * between leaves an unmarked blob that the next attempt replaces.
   */
  async function stageMedia(item: Item, media: MediaDescriptor, source: ArchiveSource | null): Promise<StageItemResult | null> {
    const key = keyOfItem(item.id);
    const blob = container.getBlockBlobClient(mediaBlobName(key, media.id));
    if (await alreadyStaged(blob.name, media)) return null;
    const headers = { blobHTTPHeaders: { blobContentType: media.contentType } };

    if (media.dataBase64 !== undefined) {
      const bytes = Buffer.from(media.dataBase64, 'base64');
      const mismatch = describeMismatch(media, bytes.length, sha256Hex(bytes));
      if (mismatch) return { ok: false, reason: 'media-checksum-mismatch', detail: mismatch };
      await blob.uploadData(bytes, { ...headers, metadata: { [SHA256_METADATA]: media.sha256 } });
      return null;
    }

    if (!source) {
      return { ok: false, reason: 'media-missing', detail: `media ${media.id}: no inline bytes and no source to download it from` };
    }
    let download;
    try {
      download = await source.openMedia(item.id, media.id);
    } catch (error) {
      if (isArchiverError(error, 'MEDIA_MISSING')) {
        return { ok: false, reason: 'media-missing', detail: `media ${media.id}: the archive no longer has it (404)` };
      }
      throw error;
    }
    const meter = new HashingMeter(media.size);
    try {
      // Through the process's shared block buffers (blocks.ts): a large media file is never held whole.
      await uploadInBlocks(blob, pipeline(download.stream, meter, () => undefined), { upload: headers });
    } catch (error) {
      // The meter's own stop is a finding about the file; anything else (storage, a broken download) is worth a retry.
      if (!meter.failure) throw error;
    }
    if (meter.failure) {
      await blob.deleteIfExists();
      return { ok: false, reason: 'media-checksum-mismatch', detail: `media ${media.id}: ${meter.failure.message}` };
    }
    const mismatch = describeMismatch(media, meter.bytes, meter.digest());
    if (mismatch) {
      await blob.deleteIfExists();
      return { ok: false, reason: 'media-checksum-mismatch', detail: mismatch };
    }
    await blob.setMetadata({ [SHA256_METADATA]: media.sha256 });
    return null;
  }

  return {
    async ensure() {
      await container.createIfNotExists();
    },

    async putRawPage(runId, pageName, records) {
      const name = `runs/${runId}/pages/${pageName}.json`;
      await putJson(name, records);
      return name;
    },

    async readRawPage(blobName) {
      const records: unknown = JSON.parse((await downloadBuffer(blobName)).toString('utf8'));
      if (!Array.isArray(records)) throw new TypeError(`blob ${blobName} does not hold a page of records`);
      return records;
    },

    async putInvalidRecord(runId, raw, detail) {
      // Named by content, so setting the same record aside twice writes one blob.
      const name = `runs/${runId}/invalid/${canonicalSha256(raw)}.json`;
      await putJson(name, { detail, record: raw ?? null });
      return name;
    },

    async stageItem(item, sourceSha256, source) {
      // Media staged before are reused (and reopened for retention); the .eml is written anew by conversion.
      for (const media of allMedia(item)) {
        const failure = await stageMedia(item, media, source);
        if (failure) return failure;
      }
      const staged: StagedItem = {
        item: withoutInlineData(item),
        sourceSha256,
        sizeInBytes: itemSizeInBytes(item),
        stagedAt: new Date().toISOString(),
      };
      return { ok: true, staged };
    },

    async putBatch(runId, kind, name, batch) {
      const blobName = `runs/${runId}/${kind}/${name}.json`;
      await putJson(blobName, batch);
      return blobName;
    },

    async readBatch<T>(blobName: string): Promise<T> {
      return JSON.parse((await downloadBuffer(blobName)).toString('utf8')) as T;
    },

    async readMediaRange(key, mediaId, start, end, into) {
      const name = mediaBlobName(key, mediaId);
      try {
        if (into) return (await container.getBlobClient(name).downloadToBuffer(into, start, end - start)).subarray(0, end - start);
        return await container.getBlobClient(name).downloadToBuffer(start, end - start);
      } catch (error) {
        throw notFoundOr(error, name);
      }
    },

    async openMedia(key, mediaId) {
      return download(mediaBlobName(key, mediaId));
    },

    mediaBlobName,

    async putItemBlob(key, name, body, contentType) {
      const blob = container.getBlockBlobClient(itemBlobName(key, name));
      // Tagged for retention as it is written (shared/stages/staging/retention.ts): one request per item, no second one when the run settles.
      const options = { blobHTTPHeaders: { blobContentType: contentType }, tags: WRITTEN_TAGS };
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
        await blob.uploadData(bytes, options);
        return bytes.length;
      }
      // A small blob (every SMS) goes up in one request; a large one streams through the shared block buffers (blocks.ts).
      return uploadInBlocks(blob, body, { upload: options, singleRequestWhenSmall: true });
    },

    async openItemBlob(key, name) {
      return download(itemBlobName(key, name));
    },

    async readItemBlob(key, name) {
      return downloadBuffer(itemBlobName(key, name));
    },

    async itemBlobExists(key, name) {
      return container.getBlobClient(itemBlobName(key, name)).exists();
    },

    async reopenItem(key) {
      return reopenBlobs(container, retentionItemPrefix(key));
    },
  };
}

/** Counts and hashes the bytes that pass, and stops the stream as soon as there are more than expected. */
class HashingMeter extends Transform {
  bytes = 0;
  failure: MediaMismatch | null = null;
  private readonly hash = createHash('sha256');

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      // No point downloading the rest of a file that is already too long.
      this.failure = new MediaMismatch(`expected ${this.maxBytes} bytes, the download ran past that`);
      callback(this.failure);
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

function describeMismatch(media: MediaDescriptor, bytes: number, sha256: string): string | null {
  if (bytes !== media.size) return `media ${media.id}: expected ${media.size} bytes, got ${bytes}`;
  if (sha256 !== media.sha256) return `media ${media.id}: SHA-256 ${sha256} does not match the descriptor's ${media.sha256}`;
  return null;
}

function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | null)?.statusCode;
}

function notFoundOr(error: unknown, blobName: string): unknown {
  if (statusOf(error) === 404) return new ArchiverError('NOT_FOUND', `staging has no blob ${blobName}`, { statusCode: 404, cause: error });
  return error;
}
