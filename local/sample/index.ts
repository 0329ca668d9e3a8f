/** The sample tenant and sample day that `npm start` and the tests run on. */
export { sampleTenant, addressesOf, PROXY_ONLY_ADDRESS, SAMPLE_DOMAIN, type SampleUser } from './tenant';
export {
  findProjectRoot,
  readFixtureItems,
  sampleDay,
  SAMPLE_DAY,
  type SampleDay,
  type SampleDayExpectations,
  type SampleDayOptions,
} from './day';
export { inlineMedia, samplePng, sampleVCard, sampleWav, type InlineMedia } from './media';
