/**
 * Jest 30 in native ESM mode (run with --experimental-vm-modules) with the SWC transform.
 * Three tiers: unit specs beside the code, integration and end-to-end specs under test/ on a real
 * PostgreSQL (embedded unless DATABASE_URL is set), and browser journeys under test/browser.
 */
const swc = [
  '@swc/jest',
  {
    swcrc: false,
    sourceMaps: 'inline',
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
    module: { type: 'es6' },
  },
];

const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};

const integration = {
  ...common,
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['<rootDir>/test/support/setup-file.ts'],
};

/**
 * Specs that start the service, in process or as processes of their own (the built service and
 * command line), log at trace into a capture, and each such file ends with a test that searches it
 * for the secrets the file used (test/support/log-check.ts).
 */
const logCheck = {
  testEnvironment: '<rootDir>/test/support/environment.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/log-check.ts'],
};

export default {
  // Jest reads testTimeout from the global configuration only (a project's own is ignored, which
  // left every integration test at the default 5 s): 60 s for a test or hook on a busy machine;
  // the browser journeys give their long tests more themselves, and every hook that starts
  // something passes STARTUP_TIMEOUT_MS (test/support/timeouts.ts).
  testTimeout: 60_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/src/**/*.spec.ts',
        '<rootDir>/tools/**/*.spec.ts',
        '<rootDir>/bench/**/*.spec.ts',
      ],
    },
    {
      ...integration,
      ...logCheck,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/*.spec.ts'],
    },
    {
      // The abuse suite: each test is one attack, made over HTTP the way an attacker would.
      ...integration,
      ...logCheck,
      displayName: 'security',
      testMatch: ['<rootDir>/test/security/**/*.spec.ts'],
    },
    {
      // Pages in Debian's Chromium against the built service (`npm test` builds first).
      ...integration,
      ...logCheck,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.spec.ts'],
    },
    {
      // Several real service processes (built) on one database: scale-out, shutdown, faults.
      ...integration,
      ...logCheck,
      displayName: 'processes',
      testMatch: ['<rootDir>/test/processes/**/*.spec.ts'],
    },
  ],
};
