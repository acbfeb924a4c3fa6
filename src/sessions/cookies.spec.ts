import { describe, expect, it } from '@jest/globals';
import { type HttpRequest } from '../common/http.js';
import { type AppConfig, loadConfig } from '../config/app-config.js';
import { type CookieKind, cookieName, cookieOptions, readCookie } from './cookies.js';

const KINDS: CookieKind[] = ['session', 'csrf', 'gosuslugiTransaction'];
const development = loadConfig({});
/** Only what the cookie table reads of a production configuration. */
const production = {
  isProduction: true,
  session: { cookieName: '__Host-il_session', secureCookie: true },
} as unknown as AppConfig;

/** A request whose Cookie header is `header`. */
const withCookies = (header: string) => ({ headers: { cookie: header } }) as unknown as HttpRequest;

describe('cookies', () => {
  it('names every cookie once, with the __Host- prefix in production only', () => {
    expect(KINDS.map((kind) => cookieName(development, kind))).toEqual([
      'il_session',
      'il_csrf',
      'il_gosuslugi_tx',
    ]);
    expect(KINDS.map((kind) => cookieName(production, kind))).toEqual([
      '__Host-il_session',
      '__Host-il_csrf',
      '__Host-il_gosuslugi_tx',
    ]);
  });

  it('sets every cookie HttpOnly, Lax and site-wide, Secure in production', () => {
    expect(cookieOptions(development)).toEqual({
      httpOnly: true,
      sameSite: 'lax',
      secure: false,
      path: '/',
    });
    expect(cookieOptions(production, 60_000)).toEqual({
      httpOnly: true,
      sameSite: 'lax',
      secure: true,
      path: '/',
      maxAgeMs: 60_000,
    });
  });

  it('reads only values shaped as the service issues them', () => {
    const token = 'A'.repeat(42) + '_';
    expect(readCookie(withCookies(`a=1; il_csrf=${token}`), development, 'csrf')).toBe(token);
    expect(readCookie(withCookies('il_csrf=short'), development, 'csrf')).toBeUndefined();
    // What cookie-parser would have read as JSON (`j:`) is only a string here, and not ours.
    expect(readCookie(withCookies(`il_csrf=j:"${token}"`), development, 'csrf')).toBeUndefined();
    // A broken percent-escape is a value that is not ours, not an error.
    expect(readCookie(withCookies('il_csrf=%E0%A4%A'), development, 'csrf')).toBeUndefined();
    // Another kind's cookie, or the development name in production, is not read.
    expect(readCookie(withCookies(`il_session=${token}`), development, 'csrf')).toBeUndefined();
    expect(readCookie(withCookies(`il_csrf=${token}`), production, 'csrf')).toBeUndefined();
    expect(readCookie({ headers: {} } as HttpRequest, development, 'session')).toBeUndefined();
  });
});
