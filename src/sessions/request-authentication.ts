import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type HttpRequest } from '../common/http.js';
import { routeAccess } from '../common/auth-decorators.js';
import { type AuthContext } from './auth-context.js';
import { RequestAccount } from '../throttling/signed-in.js';
import { SessionService } from './session.service.js';

/** The request's caller, once looked up: a property under a symbol, not a WeakMap entry. */
const CALLER = Symbol('identity-link.caller');
type WithCaller = HttpRequest & { [CALLER]?: Promise<AuthContext | null> };

/**
 * Who is calling, looked up once per request for the two guards that need it: the throttler
 * (which counts a live session against its account, anything else against the address) and the
 * auth guard after it (which decides). The lookup is the auth guard's own: a page reads the
 * session cookie only, any other protected route an access token or else the cookie
 * (`SessionService`, through its session cache); a public route looks nothing up, so it counts
 * against the address and costs nothing more than before. A public route that takes a session if
 * there is one (`@Public({ session: 'optional' })`) looks it up for the auth guard only, and still
 * counts against the address.
 *
 * Only a session that `SessionService` finds live counts as signed in: a forged, unknown, expired
 * or ended cookie or token is null here, exactly as it is for the auth guard.
 */
@Injectable()
export class RequestAuthentication extends RequestAccount {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionService,
  ) {
    super();
  }

  /** The caller as this route accepts it; null on a public route (nothing is looked up). */
  caller(context: ExecutionContext): Promise<AuthContext | null> {
    const request = context.switchToHttp().getRequest<WithCaller>();
    let caller = request[CALLER];
    if (caller === undefined) {
      const route = routeAccess(this.reflector, context);
      caller =
        route.decision === 'public' && route.public?.session !== 'optional'
          ? Promise.resolve(null)
          : route.decision === 'page'
            ? this.sessions.fromCookieAuth(request)
            : this.sessions.authenticate(request);
      request[CALLER] = caller;
    }
    return caller;
  }

  async of(context: ExecutionContext): Promise<string | null> {
    if (routeAccess(this.reflector, context).decision === 'public') return null;
    return (await this.caller(context))?.facts.userId ?? null;
  }
}
