import { type Request, type Response } from 'express';
import { type AppConfig } from '../config/app-config.js';
import { cookieName, cookieOptions, readCookie } from './cookies.js';
import { CHALLENGE_TTL_MS } from './second-factor-rules.js';

/**
 * The browser's handle on its pending second-factor step: HttpOnly, this origin only, as long as
 * the step lasts. It is not a session cookie, and the guard never reads it.
 */
export function readSecondFactorCookie(request: Request, config: AppConfig): string | undefined {
  return readCookie(request, config, 'secondFactor');
}

export function setSecondFactorCookie(response: Response, config: AppConfig, token: string): void {
  response.cookie(
    cookieName(config, 'secondFactor'),
    token,
    cookieOptions(config, CHALLENGE_TTL_MS),
  );
}

export function clearSecondFactorCookie(response: Response, config: AppConfig): void {
  response.clearCookie(cookieName(config, 'secondFactor'), cookieOptions(config));
}
