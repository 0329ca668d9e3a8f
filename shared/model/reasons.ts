/**
 * One registry of the reasons an item or a unit fails, with a sentence each,
 * beside the error codes (errors.ts): the report and its failures CSV carry
 * them, the re-drive backlog counts them, and docs/operations.md lists
 * exactly these (a test holds it to that).
 */
export const FailureReasons = {
  unmapped: 'No participant found a Microsoft 365 user.',
  'too-large': 'The item is over MAX_ITEM_BYTES: not archived, by the contract\'s rule.',
  invalid: 'The source sent a record that is not an O2 item by the contract.',
  'media-missing': 'The archive answered 404 for a media file or recording.',
  'media-checksum-mismatch': 'The bytes of a media file did not match its descriptor\'s SHA-256 or size.',
  'conversion-error': 'The item could not be made into an email.',
  poisoned: 'A stage kept failing on the item or unit.',
  'attachment-refused': 'Graph refused an attachment for good; the message was imported without it (partial).',
  'mailbox-not-found': 'Graph has no mailbox for the mapped user.',
  'graph-error': 'Graph refused a call, or kept failing past the retry budget on every sweep of the mailbox for two hours.',
  'held-by-other': 'Another worker held the unit for two hours while the mailbox\'s import chain kept sweeping for it.',
  'not-redrivable': 'In a re-drive: nothing of the item was staged.',
  'no-outcome': 'An item or unit was left without an outcome.',
} as const;

export type FailureReason = keyof typeof FailureReasons;

/** True when `reason` is one of the registry's. */
export function isFailureReason(reason: unknown): reason is FailureReason {
  return typeof reason === 'string' && Object.prototype.hasOwnProperty.call(FailureReasons, reason);
}
