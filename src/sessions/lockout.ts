/**
 * Per-account brute-force protection in the manner of Keycloak's: failures count inside a reset
 * window; from `failureFactor` failures on, each further step of `failureFactor` failures adds
 * `waitIncrement` of lockout, capped at `maxWait`. Pure, so the arithmetic is unit-tested apart
 * from the database.
 */
export interface LockoutPolicy {
  failureFactor: number;
  waitIncrementMs: number;
  maxWaitMs: number;
  failureResetMs: number;
}

export interface LockoutState {
  failureCount: number;
  lastFailureAt: Date | null;
  lockedUntil: Date | null;
}

export function isLocked(state: LockoutState, now: Date): boolean {
  return state.lockedUntil !== null && now < state.lockedUntil;
}

/** The state after one more failed attempt at `now`. */
export function afterFailure(state: LockoutState, now: Date, policy: LockoutPolicy): LockoutState {
  const expired =
    state.lastFailureAt === null ||
    now.getTime() - state.lastFailureAt.getTime() > policy.failureResetMs;
  const failureCount = (expired ? 0 : state.failureCount) + 1;
  const steps = Math.floor(failureCount / policy.failureFactor);
  let lockedUntil = expired ? null : state.lockedUntil;
  if (steps > 0) {
    const waitMs = Math.min(policy.maxWaitMs, steps * policy.waitIncrementMs);
    lockedUntil = new Date(now.getTime() + waitMs);
  }
  return { failureCount, lastFailureAt: now, lockedUntil };
}

export const CLEARED: LockoutState = { failureCount: 0, lastFailureAt: null, lockedUntil: null };
