import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type Request } from 'express';
import { isIP } from 'node:net';

/** Where a request came from, for sessions and the audit log. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** The id pino-http gave the request (see app.module.ts), when it is a plain value. */
export function requestIdOf(request: Request): string | null {
  const id: unknown = request.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

export function clientInfoOf(request: Request): ClientInfo {
  // request.ip honours X-Forwarded-For only when TRUST_PROXY configures Express to.
  return {
    // Only a real address is kept: a proxy header could otherwise put anything here.
    ip: request.ip !== undefined && isIP(request.ip) !== 0 ? request.ip : null,
    userAgent: request.get('user-agent')?.slice(0, 512) ?? null,
    requestId: requestIdOf(request),
  };
}

export const Client = createParamDecorator((_: unknown, context: ExecutionContext): ClientInfo =>
  clientInfoOf(context.switchToHttp().getRequest<Request>()),
);
