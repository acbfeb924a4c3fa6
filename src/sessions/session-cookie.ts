import { type Request, type Response } from 'express';
import { type AppConfig } from '../config/app-config.js';
import { cookieName, cookieOptions, readCookie } from './cookies.js';

export function readSessionCookie(request: Request, config: AppConfig): string | undefined {
  return readCookie(request, config, 'session');
}

export function setSessionCookie(response: Response, config: AppConfig, token: string): void {
  response.cookie(
    cookieName(config, 'session'),
    token,
    cookieOptions(config, config.session.absoluteTtlMs),
  );
}

export function clearSessionCookie(response: Response, config: AppConfig): void {
  response.clearCookie(cookieName(config, 'session'), cookieOptions(config));
}
