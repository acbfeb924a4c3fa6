import { describe, expect, it } from '@jest/globals';
import { AuthMethod } from './session.entity.js';
import {
  browserSessionRequired,
  emailChangeRefusal,
  RECENT_AUTHENTICATION_MS,
  recentlyAuthenticated,
  sessionUsable,
} from './session-rules.js';

describe('recentlyAuthenticated', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');
  const at = (msAgo: number) => ({ authenticatedAt: new Date(now - msAgo) });

  it('holds for a login within the last 10 minutes, the limit included', () => {
    expect(recentlyAuthenticated(at(0), now)).toBe(true);
    expect(recentlyAuthenticated(at(RECENT_AUTHENTICATION_MS), now)).toBe(true);
  });
  it('fails a millisecond later', () => {
    expect(recentlyAuthenticated(at(RECENT_AUTHENTICATION_MS + 1), now)).toBe(false);
  });
  it('is ten minutes', () => {
    expect(RECENT_AUTHENTICATION_MS).toBe(600_000);
  });
});

describe('emailChangeRefusal', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');
  const minutesAgo = (minutes: number) => new Date(now - minutes * 60_000);
  const verified = { email: 'owner@example.ru', emailVerifiedAt: minutesAgo(60) };
  const gosuslugi = (loggedIn: number) => ({
    authenticatedAt: minutesAgo(loggedIn),
    authenticatedWith: AuthMethod.Gosuslugi,
  });
  const linked = (minutes: number) => ({ linkedAt: minutesAgo(minutes) });

  it('lets a recent password move any address', () => {
    const password = { authenticatedAt: minutesAgo(1), authenticatedWith: AuthMethod.Password };
    expect(emailChangeRefusal(password, verified, [linked(120)], now)).toBeNull();
  });
  it('asks for a new login when nothing was proved recently', () => {
    const old = { authenticatedAt: minutesAgo(11), authenticatedWith: AuthMethod.Password };
    expect(emailChangeRefusal(old, verified, [], now)).toBe('reauthentication_required');
  });
  it('refuses a Госуслуги login through a link older than the verified address', () => {
    expect(emailChangeRefusal(gosuslugi(1), verified, [linked(120)], now)).toBe(
      'password_required',
    );
  });
  it('accepts one through a link made when or after the address was verified', () => {
    expect(emailChangeRefusal(gosuslugi(1), verified, [linked(30)], now)).toBeNull();
    expect(emailChangeRefusal(gosuslugi(1), verified, [linked(60)], now)).toBeNull();
  });
  it('refuses when the only link was made after the login, so the login went through another', () => {
    expect(emailChangeRefusal(gosuslugi(5), verified, [linked(2)], now)).toBe('password_required');
  });
  it('refuses when the age of the verified address is unknown', () => {
    const unknown = { email: 'owner@example.ru', emailVerifiedAt: null };
    expect(emailChangeRefusal(gosuslugi(1), unknown, [linked(30)], now)).toBe('password_required');
  });
  it('lets a Госуслуги login add the first address', () => {
    const none = { email: null, emailVerifiedAt: null };
    expect(emailChangeRefusal(gosuslugi(1), none, [linked(120)], now)).toBeNull();
  });
});

describe('sessionUsable', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');
  const live = {
    revokedAt: null,
    idleExpiresAt: new Date(now + 60_000),
    absoluteExpiresAt: new Date(now + 3_600_000),
    userActive: true,
    sessionsValidAfter: null,
    createdAt: new Date(now - 60_000),
    operator: false,
    method: AuthMethod.Password,
    secondFactor: null,
  };

  it('accepts a live session of an active user', () => {
    expect(sessionUsable(live, now)).toBe(true);
  });
  it('refuses an ended or expired session', () => {
    expect(sessionUsable({ ...live, revokedAt: new Date(now - 1) }, now)).toBe(false);
    expect(sessionUsable({ ...live, idleExpiresAt: new Date(now) }, now)).toBe(false);
    expect(sessionUsable({ ...live, absoluteExpiresAt: new Date(now) }, now)).toBe(false);
  });
  it('refuses a blocked user, and a session older than the last reset', () => {
    expect(sessionUsable({ ...live, userActive: false }, now)).toBe(false);
    expect(sessionUsable({ ...live, sessionsValidAfter: new Date(now - 1) }, now)).toBe(false);
    expect(sessionUsable({ ...live, sessionsValidAfter: live.createdAt }, now)).toBe(true);
  });
  it("refuses an operator's password session without a second factor", () => {
    const operator = { ...live, operator: true };
    expect(sessionUsable(operator, now)).toBe(false);
    expect(sessionUsable({ ...operator, secondFactor: 'otp' }, now)).toBe(true);
    expect(sessionUsable({ ...operator, method: AuthMethod.Gosuslugi }, now)).toBe(true);
  });
});

describe('browserSessionRequired', () => {
  it('refuses an access token on a cookie-only route', () => {
    expect(browserSessionRequired({ via: 'cookie' }, 'bearer')).toBe(true);
  });
  it('lets the cookie through, and either proof on other routes', () => {
    expect(browserSessionRequired({ via: 'cookie' }, 'cookie')).toBe(false);
    expect(browserSessionRequired({}, 'bearer')).toBe(false);
    expect(browserSessionRequired(undefined, 'bearer')).toBe(false);
  });
});
