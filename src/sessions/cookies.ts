import {
  type HttpRequest,
  type HttpResponse,
  cookiesOf,
  type ResponseCookieOptions,
  setResponseCookie,
  clearResponseCookie,
} from '../common/http.js';
import { type AppConfig } from '../config/app-config.js';

/**
 * Every cookie the service sets, by what it holds. In production each carries the __Host- prefix,
 * which pins it to this origin, path / and https (RFC 6265bis); the session cookie's name comes
 * from the configuration, which states the same rule.
 */
const NAMES = {
  /** The session token (session-cookie.ts). */
  session: 'il_session',
  /** The double-submit form token (rendering/csrf.ts). */
  csrf: 'il_csrf',
  /** The handle of a round trip to Госуслуги (gosuslugi/login-transactions.service.ts). */
  gosuslugiTransaction: 'il_gosuslugi_tx',
  /** The pending second-factor step of a password login (sessions/login-challenges.service.ts). */
  secondFactor: 'il_mfa',
} as const;

export type CookieKind = keyof typeof NAMES;

export function cookieName(config: AppConfig, kind: CookieKind): string {
  if (kind === 'session') return config.session.cookieName;
  return config.isProduction ? `__Host-${NAMES[kind]}` : NAMES[kind];
}

/**
 * The flags of every cookie: HttpOnly, Lax (not Strict: the session and transaction cookies must
 * ride along the top-level redirect back from Госуслуги), Secure in production, the whole site.
 */
export function cookieOptions(config: AppConfig, maxAgeMs?: number): ResponseCookieOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    secure: config.session.secureCookie,
    path: '/',
    ...(maxAgeMs !== undefined && { maxAgeMs }),
  };
}

/**
 * The value of one of our cookies, when the browser sent one shaped as ours are (each holds 256
 * random bits, base64url): anything else is treated as no cookie at all.
 */
export function readCookie(
  request: HttpRequest,
  config: AppConfig,
  kind: CookieKind,
): string | undefined {
  const value = cookiesOf(request)[cookieName(config, kind)];
  return typeof value === 'string' && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
}

/** A cookie's value and how long the browser keeps it, as a service hands it to a controller. */
export interface CookieValue {
  value: string;
  maxAgeMs: number;
}

/** Sets one of our cookies, with the flags above. */
export function setCookie(
  response: HttpResponse,
  config: AppConfig,
  kind: CookieKind,
  { value, maxAgeMs }: CookieValue,
): void {
  setResponseCookie(response, cookieName(config, kind), value, cookieOptions(config, maxAgeMs));
}

/** Tells the browser to drop one of our cookies (the flags must match the ones it was set with). */
export function clearCookie(response: HttpResponse, config: AppConfig, kind: CookieKind): void {
  clearResponseCookie(response, cookieName(config, kind), cookieOptions(config));
}
