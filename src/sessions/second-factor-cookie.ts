import {
  type HttpRequest,
  type HttpResponse,
  setResponseCookie,
  clearResponseCookie,
} from '../common/http.js';
import { type AppConfig } from '../config/app-config.js';
import { cookieName, cookieOptions, readCookie } from './cookies.js';
import { CHALLENGE_TTL_MS } from './second-factor-rules.js';

/**
 * The browser's handle on its pending second-factor step: HttpOnly, this origin only, as long as
 * the step lasts. It is not a session cookie, and the guard never reads it.
 */
export function readSecondFactorCookie(
  request: HttpRequest,
  config: AppConfig,
): string | undefined {
  return readCookie(request, config, 'secondFactor');
}

export function setSecondFactorCookie(
  response: HttpResponse,
  config: AppConfig,
  token: string,
): void {
  setResponseCookie(
    response,
    cookieName(config, 'secondFactor'),
    token,
    cookieOptions(config, CHALLENGE_TTL_MS),
  );
}

export function clearSecondFactorCookie(response: HttpResponse, config: AppConfig): void {
  clearResponseCookie(response, cookieName(config, 'secondFactor'), cookieOptions(config));
}
