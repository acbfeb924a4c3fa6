import { type ServerResponse } from 'node:http';
import {
  type HttpRequest,
  type HttpResponse,
  setResponseCookie,
  clearResponseCookie,
} from '../common/http.js';
import { type AppConfig } from '../config/app-config.js';
import { cookieName, cookieOptions, readCookie } from './cookies.js';

export function readSessionCookie(request: HttpRequest, config: AppConfig): string | undefined {
  return readCookie(request, config, 'session');
}

export function setSessionCookie(response: HttpResponse, config: AppConfig, token: string): void {
  setResponseCookie(
    response,
    cookieName(config, 'session'),
    token,
    cookieOptions(config, config.session.absoluteTtlMs),
  );
}

/** Drops the session cookie; `response` may be Node's own (an answer oidc-provider writes). */
export function clearSessionCookie(
  response: HttpResponse | ServerResponse,
  config: AppConfig,
): void {
  clearResponseCookie(response, cookieName(config, 'session'), cookieOptions(config));
}
