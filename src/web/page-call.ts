import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type HttpRequest } from '../common/http.js';
import { type ClientInfo, clientInfoOf } from '../common/client-info.js';
import { authOf } from '../sessions/auth-context.js';
import { type Session } from '../sessions/session.entity.js';

/**
 * A signed-in page request as its handler uses it: the request (to draw the page's header), the
 * session the guard loaded from the cookie, and where the request came from (for the audit log).
 * The response stays a parameter of its own (`@Res()`): Nest leaves the answer to a handler only
 * when that decorator is there.
 */
export interface PageCall {
  readonly request: HttpRequest;
  readonly session: Session;
  readonly client: ClientInfo;
}

/** The PageCall of a @Page() route; only valid where the guard has authenticated the cookie. */
export const Call = createParamDecorator((_: unknown, context: ExecutionContext): PageCall => {
  const request = context.switchToHttp().getRequest<HttpRequest>();
  const { session } = authOf(request, 'Call');
  return { request, session, client: clientInfoOf(request) };
});
