/** The TeleMessage archive emulator: server, seeded faults, and media made on the fly. */
export {
  startTeleMessageEmulator,
  type TeleMessageEmulator,
  type TeleMessageEmulatorOptions,
  type TeleMessageEmulatorStats,
} from './server';
export { FaultPlan, type EmulatorRoute, type FaultKind } from './faults';
export { bufferMedia, seededChunks, seededMedia, type EmulatorMedia, type SeededMediaOptions } from './media';
export { hashSeed, mulberry32, SeededRandom } from './random';
