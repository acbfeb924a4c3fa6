import { type CookieOptions, type Request, type Response } from 'express';
import { type AppConfig } from '../config/app-config.js';

function options(config: AppConfig): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: config.session.secureCookie, path: '/' };
}

export function readSessionCookie(request: Request, config: AppConfig): string | undefined {
  const value: unknown = (request.cookies as Record<string, unknown> | undefined)?.[
    config.session.cookieName
  ];
  return typeof value === 'string' ? value : undefined;
}

export function setSessionCookie(response: Response, config: AppConfig, token: string): void {
  response.cookie(config.session.cookieName, token, {
    ...options(config),
    maxAge: config.session.absoluteTtlMs,
  });
}

export function clearSessionCookie(response: Response, config: AppConfig): void {
  response.clearCookie(config.session.cookieName, options(config));
}
