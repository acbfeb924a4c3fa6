import { describe, expect, it } from '@jest/globals';
import { AuthMethod } from './session.entity.js';
import {
  emailChangeRefusal,
  RECENT_AUTHENTICATION_MS,
  recentlyAuthenticated,
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
