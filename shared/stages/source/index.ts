/** The source stage: the TeleMessage client and record validation. */
export { createTeleMessageSource, teleMessageSourceFromSettings, type TeleMessageSourceOptions } from './telemessageClient';
export { parseIsoInstant, sourceSha256, validateRecord, withoutInlineData } from './validate';
