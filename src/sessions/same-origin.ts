import { HttpStatus } from '@nestjs/common';
import { type HttpRequest, headerOf } from '../common/http.js';
import { DomainError } from '../common/errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cookie-authenticated writes must come from our own origin. Browsers send Origin on every
 * cross-origin POST and Sec-Fetch-Site on every request, so a foreign value is a forged request
 * (defence in depth over SameSite=Lax).
 */
export function assertSameOrigin(request: HttpRequest, publicUrl: string): void {
  if (SAFE_METHODS.has(request.method)) return;
  const origin = headerOf(request, 'origin');
  const fetchSite = headerOf(request, 'sec-fetch-site');
  if (
    (origin !== undefined && origin !== new URL(publicUrl).origin) ||
    fetchSite === 'cross-site'
  ) {
    throw new DomainError(
      HttpStatus.FORBIDDEN,
      'cross_origin_request',
      'Запрос с чужого сайта отклонён',
    );
  }
}
