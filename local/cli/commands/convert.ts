/**
 * `o2-archiver convert <item.json> --out <file.eml>` (contracts/cli.md):
 * converts one item file to its .eml without storage or services. Media come
 * inline (`dataBase64`, checked against size and SHA-256) or, where an item
 * has none, from the configured TeleMessage source.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from '../command';
import { allowOptions, requireOption, usage } from '../args';
import { readSettings } from '../../../shared/platform/config';
import { describeError, isArchiverError } from '../../../shared/model/errors';
import { allMedia, itemSizeInBytes, type Item, type MediaOpener, type StagedItem } from '../../../shared/model/item';
import { convertItem } from '../../../shared/stages/convert';
import { validateRecord } from '../../../shared/stages/source/validate';

/** `o2-archiver convert`: writes the .eml of one item file; exit 0 written, 1 refused (invalid, media-checksum-mismatch, too-large). */
export const convertCommand: Command = async (args, io) => {
  allowOptions(args, ['out']);
  if (args.positionals.length !== 1) throw usage('convert takes one item file: convert <item.json> --out <file.eml>');
  const [input] = args.positionals;
  const out = requireOption(args, 'out');
  const settings = readSettings();

  const refuse = (reason: string, detail: string): number => {
    io.err(`o2-archiver: ${input} refused: ${reason} (${detail})`);
    return 1;
  };

  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(input, 'utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) return refuse('invalid', 'the file is not JSON');
    throw usage(`cannot read the item file ${input}: ${describeError(e)}`);
  }
  const validation = validateRecord(raw);
  if (!validation.ok) return refuse('invalid', validation.detail);
  const { item } = validation;

  const staged: StagedItem = {
    item,
    sourceSha256: validation.sourceSha256,
    sizeInBytes: itemSizeInBytes(item),
    stagedAt: new Date().toISOString(),
  };
  // The size rule comes before the media: a refused item's bytes need not be read at all.
  if (staged.sizeInBytes > settings.MAX_ITEM_BYTES) {
    return refuse('too-large', `${staged.sizeInBytes} bytes > ${settings.MAX_ITEM_BYTES}, MAX_ITEM_BYTES`);
  }

  const inline = new Map<string, Buffer>();
  for (const media of allMedia(item)) {
    if (media.dataBase64 === undefined) continue;
    const bytes = Buffer.from(media.dataBase64, 'base64');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== media.size || sha256 !== media.sha256) {
      return refuse('media-checksum-mismatch', `media ${media.id}: ${bytes.length} bytes with SHA-256 ${sha256}, the descriptor says ${media.size} bytes and ${media.sha256}`);
    }
    inline.set(media.id, bytes);
  }

  const openMedia = await mediaOpener(item, inline, settings);
  const result = await convertItem(staged, openMedia, {
    maxItemBytes: settings.MAX_ITEM_BYTES,
    displayTimeZone: settings.DISPLAY_TIME_ZONE,
    defaultRegion: settings.DEFAULT_PHONE_REGION,
  });
  if (!result.ok) return refuse(result.reason, result.detail);

  // Written beside the target and renamed, so a failure never leaves half a message under the asked-for name.
  const partial = `${out}.partial`;
  try {
    await pipeline(result.eml, createWriteStream(partial));
    await rename(partial, out);
  } catch (e) {
    await rm(partial, { force: true });
    if (isArchiverError(e, 'MEDIA_CHECKSUM_MISMATCH')) return refuse('media-checksum-mismatch', describeError(e));
    if (isArchiverError(e, 'MEDIA_MISSING')) return refuse('media-missing', describeError(e));
    throw e;
  }
  const { size } = await stat(out);
  io.out(`wrote ${out}: ${item.type} item, ${result.email.attachments.length} attachment(s), ${size} bytes, Message-ID ${result.email.messageId}`);
  return 0;
};

/** Inline media from memory; anything else from the TeleMessage source of the settings (built only when needed). */
async function mediaOpener(item: Item, inline: ReadonlyMap<string, Buffer>, settings: ReturnType<typeof readSettings>): Promise<MediaOpener> {
  const needsSource = allMedia(item).some((m) => !inline.has(m.id));
  const source = needsSource ? (await import('../../../shared/stages/source')).teleMessageSourceFromSettings(settings) : null;
  return async (mediaId) => {
    const bytes = inline.get(mediaId);
    if (bytes) return Readable.from([bytes]);
    if (!source) throw new Error(`media ${mediaId} is not part of the item`);
    return (await source.openMedia(item.id, mediaId)).stream;
  };
}
