import { describe, expect, it } from '@jest/globals';
import {
  afterFailure,
  CLEARED,
  isLocked,
  lockoutAddressOf,
  type LockoutPolicy,
  type LockoutState,
} from './lockout.js';

const policy: LockoutPolicy = {
  failureFactor: 3,
  waitIncrementMs: 60_000,
  maxWaitMs: 150_000,
  failureResetMs: 3_600_000,
};
const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1) + seconds * 1000);

function fail(times: number, state: LockoutState = CLEARED, start = 0): LockoutState {
  let current = state;
  for (let i = 0; i < times; i++) current = afterFailure(current, at(start + i), policy);
  return current;
}

describe('lockout arithmetic', () => {
  it('does not lock below the failure factor', () => {
    const state = fail(2);
    expect(state.failureCount).toBe(2);
    expect(isLocked(state, at(2))).toBe(false);
  });

  it('locks for one wait increment at the failure factor and releases after it', () => {
    const state = fail(3);
    expect(isLocked(state, at(3))).toBe(true);
    expect(state.lockedUntil).toEqual(new Date(at(2).getTime() + 60_000));
    expect(isLocked(state, new Date(at(2).getTime() + 60_000))).toBe(false);
  });

  it('grows the wait by one increment per further factor of failures, capped at the maximum', () => {
    expect(fail(6).lockedUntil).toEqual(new Date(at(5).getTime() + 120_000));
    expect(fail(30).lockedUntil).toEqual(new Date(at(29).getTime() + 150_000));
  });

  it('forgets failures older than the reset window', () => {
    const old = fail(2);
    const next = afterFailure(old, new Date(at(1).getTime() + policy.failureResetMs + 1), policy);
    expect(next.failureCount).toBe(1);
    expect(next.lockedUntil).toBeNull();
  });
});

describe('lockoutAddressOf', () => {
  it('keys IPv4 by the address, IPv6 by its /64, mapped IPv4 as IPv4, and no address as empty', () => {
    expect(lockoutAddressOf('203.0.113.10')).toBe('203.0.113.10');
    expect(lockoutAddressOf('::ffff:203.0.113.10')).toBe('203.0.113.10');
    expect(lockoutAddressOf('2001:db8:1:2::10')).toBe('2001:db8:1:2::/64');
    expect(lockoutAddressOf('2001:0DB8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(lockoutAddressOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(lockoutAddressOf('::1')).toBe('0:0:0:0::/64');
    expect(lockoutAddressOf(null)).toBe('');
  });
});
