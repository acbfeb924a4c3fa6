import { isIP } from 'node:net';

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

/**
 * The account-wide policy: no hard lock, a short pause after each failure once
 * `accountFailureFactor` failures are on record from all addresses together. A spray from many
 * addresses is slowed to one counted guess per pause, while the owner is at worst kept waiting
 * that pause, never the pair lock's `maxWait`.
 */
export function accountPolicy(config: {
  accountFailureFactor: number;
  accountDelayMs: number;
  failureResetMs: number;
}): LockoutPolicy {
  return {
    failureFactor: config.accountFailureFactor,
    waitIncrementMs: config.accountDelayMs,
    maxWaitMs: config.accountDelayMs,
    failureResetMs: config.failureResetMs,
  };
}

/**
 * The source a pair lock is keyed by: an IPv4 address as it is, an IPv6 one by its /64 (one
 * subscriber's prefix: counting single addresses would give an attacker 2^64 fresh ones), an
 * IPv4-mapped IPv6 address as its IPv4 address; '' when the address is unknown.
 */
export function lockoutAddressOf(ip: string | null): string {
  if (ip === null) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  if (isIP(ip) !== 6) return ip;
  const [head, tail] = ip.toLowerCase().split('::') as [string, string | undefined];
  const groupsOf = (part: string): string[] =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
