/** The user mapping: the custom CSV, its store, and routing of items to mailboxes. */
export {
  parseMappingCsv,
  mappingTableOf,
  formatMappingCsv,
  diffMappings,
  normaliseMailbox,
  CANONICAL_HEADER,
  type MappingEntry,
  type MappingProblem,
  type MappingValidation,
  type MappingCsvOptions,
  type MappingTable,
  type MappingDiff,
} from './csv';
export {
  createMappingStore,
  MappingBlobNames,
  type MappingStore,
  type MappingStoreOptions,
  type MappingChange,
  type MappingSnapshot,
  type ReplaceMappingOptions,
  type ReplaceMappingResult,
} from './store';
export {
  createMailboxResolver,
  type MailboxResolver,
  type MailboxResolverOptions,
} from './resolve';
