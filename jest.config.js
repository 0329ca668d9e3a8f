/** Jest runs the TypeScript sources directly; Azurite is started once for the whole run. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  // The Functions host provides @azure/functions-core; the local stand-in keeps registrations.
  moduleNameMapper: { '^@azure/functions-core$': '<rootDir>/local/driver/functionsCore.ts' },
  testTimeout: 180000,
  reporters: ['default', '<rootDir>/test/support/summaryReporter.js'],
  maxWorkers: 2,
};
