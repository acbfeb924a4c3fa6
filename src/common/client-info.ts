import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type HttpRequest, headerOf } from './http.js';
import { isIP } from 'node:net';

/** Where a request came from, for sessions and the audit log. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** The id the request was given (X-Request-Id, src/common/request-logging.ts). */
export function requestIdOf(request: HttpRequest): string | null {
  return typeof request.id === 'string' ? request.id : null;
}

export function clientInfoOf(request: HttpRequest): ClientInfo {
  // request.ip honours X-Forwarded-For only from the proxies TRUST_PROXY names.
  return {
    // Only a real address is kept: a proxy header could otherwise put anything here.
    ip: request.ip !== undefined && isIP(request.ip) !== 0 ? request.ip : null,
    userAgent: headerOf(request, 'user-agent')?.slice(0, 512) ?? null,
    requestId: requestIdOf(request),
  };
}

export const Client = createParamDecorator((_: unknown, context: ExecutionContext): ClientInfo =>
  clientInfoOf(context.switchToHttp().getRequest<HttpRequest>()),
);
