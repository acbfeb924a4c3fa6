import { Inject, Injectable } from '@nestjs/common';
import { DEFAULT_IPV6_SUBNET_PREFIX, normalizeIp, type ThrottlerStorage } from '@nestjs/throttler';
import { createHash } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';

export const THROTTLER_STORAGE = Symbol('THROTTLER_STORAGE');

/** The throttler of credential endpoints (`@CredentialEndpoint()`). */
export const CREDENTIALS = 'credentials';
/** Logins that failed per address, counted by the login itself (`LoginFailures`). */
export const LOGIN_FAILURES = 'login-failures';
/** Failures per (address, login) pair: only a pair's first one in a window counts above. */
export const LOGIN_PAIR_FAILURES = 'login-pair-failures';
/** The throttle group of the password login's two doors, the JSON API and the login page. */
export const PASSWORD_LOGIN = 'password-login';
/** The start of a Госуслуги login: as many per school as password logins, and no guess in it. */
export const GOSUSLUGI_LOGIN = 'gosuslugi-login';
/**
 * Groups whose every attempt counts against THROTTLE_LOGIN_LIMIT per THROTTLE_LOGIN_WINDOW, sized
 * for a school behind one NATed address, rather than THROTTLE_AUTH_LIMIT per THROTTLE_TTL.
 */
export const LOGIN_GROUPS: ReadonlySet<string> = new Set([PASSWORD_LOGIN, GOSUSLUGI_LOGIN]);

/**
 * Who a throttling counter belongs to: an address as the throttler normalises it (an IPv6
 * address by its /64, as one subscriber's prefix). The guard and `LoginFailures` both use this,
 * so a failure lands on the counter the guard reads.
 */
export function trackerOf(ip: string): string {
  return normalizeIp(ip, DEFAULT_IPV6_SUBNET_PREFIX);
}

/**
 * The key of a credentials counter: per route, as the throttler does by default, except where
 * routes share a group. The login writes under the same key as the guard reads (`LoginFailures`).
 */
export function credentialsKey(route: string, throttler: string, tracker: string): string {
  return createHash('sha256').update(`${route}-${throttler}-${tracker}`).digest('hex');
}

/** A counter as the throttler names it: the throttler's name and the key within it. */
export interface CounterRef {
  throttler: string;
  key: string;
}

/** A throttling store that can also count failures, which only the handler knows of. */
export interface FailureCountingStorage extends ThrottlerStorage {
  /**
   * Counts one failure of the (address, login) counter `pair`, in a fixed window of `ttl`. The
   * first failure of the pair in its window also counts under `failures` (a fixed window of `ttl`):
   * so `failures` counts the distinct logins that failed. Once that count reaches `limit`, the
   * counter `blocked` (one the guard increments) is blocked for `blockDuration`, and the guard
   * answers 429 with Retry-After from then on. Returns the `failures` count, 0 when the pair had
   * already failed in its window.
   */
  countFailure(count: FailureCount): Promise<number>;
}

/** The counters and limits of one failure, as `FailureCountingStorage.countFailure` takes them. */
export interface FailureCount {
  pair: CounterRef;
  failures: CounterRef;
  blocked: CounterRef;
  ttl: number;
  limit: number;
  blockDuration: number;
}

/**
 * Failed logins per address, in the manner of a spray: the guard counts every login attempt
 * against a ceiling sized for a school behind one NATed address (THROTTLE_LOGIN_LIMIT per
 * THROTTLE_LOGIN_WINDOW), so that its staff's successful logins are not what stops it. What is
 * limited to THROTTLE_AUTH_LIMIT per THROTTLE_TTL is the number of distinct logins that failed
 * from the address: the failure that reaches it blocks the address's login counter for
 * THROTTLE_TTL, and the next attempt, right password or not, meets the guard's 429.
 *
 * Repeated failures of one login from one address count once per window here: guessing one
 * account is the (account, address) lock's business (`login_failures`, src/sessions/lockout.ts),
 * and one pupil hammering a teacher's login must not block the whole school's address.
 *
 * A failure is known only after argon2, so attempts sent in parallel pass the guard before the
 * block is written: the overshoot is what one address has in flight, bounded by the ceiling.
 */
@Injectable()
export class LoginFailures {
  constructor(
    @Inject(THROTTLER_STORAGE) private readonly storage: FailureCountingStorage,
    private readonly config: AppConfig,
  ) {}

  /**
   * `ip`: the client address as the guard tracks it (`req.ip`), null when it has none; `login`:
   * the normalised login that was tried.
   */
  async failed(ip: string | null, login: string): Promise<void> {
    if (ip === null) return;
    const tracker = trackerOf(ip);
    const { ttlMs, authLimit } = this.config.throttle;
    const pair = createHash('sha256').update(login).digest('hex');
    await this.storage.countFailure({
      pair: {
        throttler: LOGIN_PAIR_FAILURES,
        key: credentialsKey(PASSWORD_LOGIN, LOGIN_PAIR_FAILURES, `${tracker}-${pair}`),
      },
      failures: {
        throttler: LOGIN_FAILURES,
        key: credentialsKey(PASSWORD_LOGIN, LOGIN_FAILURES, tracker),
      },
      blocked: {
        throttler: CREDENTIALS,
        key: credentialsKey(PASSWORD_LOGIN, CREDENTIALS, tracker),
      },
      ttl: ttlMs,
      limit: authLimit,
      blockDuration: ttlMs,
    });
  }
}
