/**
 * MMS media and call recordings as attachments: safe file names and content
 * types, and the bytes as a lazily opened stream that proves its SHA-256.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { detectExtension } from 'nodemailer/lib/mime-funcs';
import type { Item, MediaDescriptor, MediaOpener } from '../../model/item';
import type { ArchivedAttachment } from '../../model/stages';
import { ArchiverError } from '../../model/errors';

/** Longest file name kept, in characters (file systems stop at 255 bytes). */
const MAX_FILE_NAME_LENGTH = 120;
/** ASCII letters, digits, `_` and `-`, with dots and spaces only inside: already safe. */
const PLAIN_FILE_NAME = /^[A-Za-z0-9_-](?:[A-Za-z0-9 ._-]*[A-Za-z0-9_-])?$/;

// nodemailer's table gives `txt` for text/vcard and `mpga` for audio/mpeg; people expect these.
const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/heic': 'heic',
  'image/heif': 'heif',
  'image/webp': 'webp',
  'image/bmp': 'bmp',
  'video/mp4': 'mp4',
  'video/3gpp': '3gp',
  'video/3gpp2': '3g2',
  'video/quicktime': 'mov',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/amr': 'amr',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/ogg': 'ogg',
  'text/vcard': 'vcf',
  'text/x-vcard': 'vcf',
  'text/plain': 'txt',
  'text/calendar': 'ics',
  'application/pdf': 'pdf',
  'application/smil': 'smil',
};

/** A file extension for a content type (`text/vcard` → `vcf`), `bin` when unknown. */
export function extensionForContentType(contentType: string): string {
  const type = contentType.toLowerCase().split(';')[0].trim();
  return EXTENSIONS[type] ?? detectExtension(type) ?? 'bin';
}

/**
 * A file name safe to put in an attachment: the last path segment only
 * (`../../x` → `x`, `C:\x.exe` → `x.exe`), no control or bidi-override
 * characters, no leading or trailing dots or spaces; made up from the content
 * type when nothing is left (`attachment-1.vcf`, or `recording.wav` for a call
 * recording).
 */
export function safeFileName(name: string | null | undefined, contentType: string, index: number | 'recording'): string {
  // The usual name (`IMG_0001.jpg`) has nothing any step below would change.
  if (name != null && name.length <= MAX_FILE_NAME_LENGTH && PLAIN_FILE_NAME.test(name)) return name;
  let safe = (name ?? '')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    // Bidi overrides and isolates can make `gpj.exe` display as `exe.jpg`.
    .replace(/[\u202a-\u202e\u2066-\u2069]/g, '');
  safe = safe.split(/[\\/]/).pop() ?? '';
  safe = safe
    .replace(/[<>:"|?*]/g, '_')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  if (safe.length > MAX_FILE_NAME_LENGTH) {
    const dot = safe.lastIndexOf('.');
    const ext = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : '';
    safe = Array.from(safe).slice(0, MAX_FILE_NAME_LENGTH - ext.length).join('') + ext;
  }
  if (safe !== '') return safe;
  const ext = extensionForContentType(contentType);
  return index === 'recording' ? `recording.${ext}` : `attachment-${index}.${ext}`;
}

/** `type/subtype` with RFC 6838's restricted-name characters. */
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;
/** Types carried as octet-stream, never parsed as part of the message structure. */
const OPAQUE_TYPE = /^(multipart|message)\//;

/**
 * The content type to write for a media file: `type/subtype` (with its
 * charset, if any) when well formed, else application/octet-stream.
 * multipart/* and message/* become octet-stream too: the bytes are carried
 * opaque, never parsed as part of the message structure.
 */
export function safeContentType(contentType: string | null | undefined): string {
  // The usual value (`image/jpeg`) is already what the steps below would make of it.
  if (contentType != null && MEDIA_TYPE.test(contentType) && !OPAQUE_TYPE.test(contentType)) return contentType;
  const [typePart, ...params] = (contentType ?? '').split(';');
  const type = typePart.trim().toLowerCase();
  if (!MEDIA_TYPE.test(type) || OPAQUE_TYPE.test(type)) return 'application/octet-stream';
  const charset = params
    .map((p) => /^\s*charset\s*=\s*"?([A-Za-z0-9_.:+-]{1,40})"?\s*$/i.exec(p)?.[1])
    .find((c) => c !== undefined);
  return charset ? `${type}; charset=${charset.toLowerCase()}` : type;
}

/** The item's media and recording as attachments, in order: media first, then the recording. */
export function attachmentsFor(item: Item): ArchivedAttachment[] {
  const describe = (media: MediaDescriptor, index: number | 'recording'): ArchivedAttachment => ({
    mediaId: media.id,
    fileName: safeFileName(media.fileName, media.contentType, index),
    contentType: safeContentType(media.contentType),
    size: media.size,
    sha256: media.sha256,
  });
  const attachments = (item.media ?? []).map((media, i) => describe(media, i + 1));
  if (item.call?.recording) attachments.push(describe(item.call.recording, 'recording'));
  return attachments;
}

/**
 * The bytes of one media file as a stream that is opened only when first read
 * (so a message with many attachments holds one download open at a time) and
 * that fails with MEDIA_CHECKSUM_MISMATCH when the bytes are not the ones the
 * descriptor promised, rather than archive something else.
 */
export function verifiedMediaStream(openMedia: MediaOpener, media: Pick<MediaDescriptor, 'id' | 'size' | 'sha256'>): Readable {
  return new VerifiedMediaStream(openMedia, media);
}

/**
 * verifiedMediaStream's stream: the source's chunks passed on as they come,
 * with backpressure, hashed on the way. (A plain Readable: an async generator
 * under Readable.from cost a promise per chunk and half again the work of the
 * whole attachment for the small media most items carry.)
 */
class VerifiedMediaStream extends Readable {
  private source: Readable | null = null;
  private opened = false;
  private size = 0;
  private readonly hash = createHash('sha256');

  constructor(
    private readonly openMedia: MediaOpener,
    private readonly media: Pick<MediaDescriptor, 'id' | 'size' | 'sha256'>,
  ) {
    super();
  }

  override _read(): void {
    if (this.source !== null) {
      this.source.resume();
      return;
    }
    if (this.opened) return;
    this.opened = true;
    this.openMedia(this.media.id).then(
      (source) => this.readFrom(source),
      (e: unknown) => this.destroy(e instanceof Error ? e : new Error(String(e))),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.source?.destroy();
    callback(error);
  }

  private readFrom(source: Readable): void {
    if (this.destroyed) {
      source.destroy();
      return;
    }
    this.source = source;
    let ended = false;
    source.on('data', (chunk: Buffer | string | Uint8Array) => {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      this.hash.update(buffer);
      this.size += buffer.length;
      // More bytes than promised: stop reading, they are not the descriptor's.
      if (this.size > this.media.size) return this.destroy(this.mismatch());
      if (!this.push(buffer)) source.pause();
    });
    source.once('end', () => {
      ended = true;
      if (this.size !== this.media.size || this.hash.digest('hex') !== this.media.sha256) return this.destroy(this.mismatch());
      this.push(null);
    });
    source.once('error', (e) => this.destroy(e));
    source.once('close', () => {
      if (!ended && !this.destroyed) this.destroy(Object.assign(new Error('the media stream closed before its end'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  }

  private mismatch(): ArchiverError {
    const { id, size } = this.media;
    return new ArchiverError(
      'MEDIA_CHECKSUM_MISMATCH',
      `media-checksum-mismatch: media ${id} is not the ${size} bytes its descriptor's SHA-256 names`,
    );
  }
}
