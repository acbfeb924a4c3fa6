/**
 * What a hook that starts something (the service in process or as a process of its own, a
 * PostgreSQL cluster, a mail or Redis server, Chromium) may take. Every such hook passes this one
 * value, so that a start on a busy machine (a CI host at load average 7 to 18 took longer than
 * Jest's 5 s default, then its 60 s) fails only when it truly hangs. Tests keep the shorter
 * global `testTimeout` of jest.config.js.
 */
export const STARTUP_TIMEOUT_MS = 180_000;
