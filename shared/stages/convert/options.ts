/**
 * What a conversion needs besides the item: the size limit and the settings
 * that shape the text (contracts/settings.md).
 */
export interface ConvertOptions {
  /** `MAX_ITEM_BYTES`: larger items are not converted (exactly this many are). */
  maxItemBytes: number;
  /** `DISPLAY_TIME_ZONE`: IANA zone shown beside UTC in call summaries. */
  displayTimeZone: string;
  /** `DEFAULT_PHONE_REGION`: region of numbers written without a country code. */
  defaultRegion: string;
  /** Fixed shared part of the MIME boundaries, so tests can compare exact output; random when absent. */
  baseBoundary?: string;
}
