import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type HttpRequest, pathOf } from '../common/http.js';
import { routeAccess } from '../common/auth-decorators.js';
import { Errors, LoginRequired } from '../common/errors.js';
import { AppConfig } from '../config/app-config.js';
import { type AuthContext } from './auth-context.js';
import { RequestAuthentication } from './request-authentication.js';
import { assertSameOrigin } from './same-origin.js';
import { browserSessionRequired } from './session-rules.js';
import { SessionErrors } from './sessions.texts.js';

/**
 * The one global guard. Routes are denied unless marked @Public(); a @Page() needs a live session
 * from the cookie (a browser without one is sent to the login page); every other route needs a
 * live session, proved by the session cookie or by an access token whose session is still live.
 * A @FormPost() from another origin is refused before any of that (the form token is checked
 * next, by FormTokenInterceptor, which can show the stale form again). A public route may take a
 * live session if there is one (@Public({ session: 'optional' })); wherever a session is taken, a
 * cookie one counts only from our own origin.
 *
 * The session is looked up once per request, by whichever guard asks first (the throttler runs
 * before this one: RequestAuthentication).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly authentication: RequestAuthentication,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return false;
    const request = context.switchToHttp().getRequest<HttpRequest>();
    const route = routeAccess(this.reflector, context);
    if (route.formPost) assertSameOrigin(request, this.config.publicUrl);
    if (route.decision === 'public') {
      if (route.public?.session !== 'optional') return true;
      const auth = await this.authentication.caller(context);
      if (auth) this.admit(request, auth);
      return true;
    }
    if (route.decision === 'page') {
      const auth = await this.authentication.caller(context);
      if (!auth) throw new LoginRequired(route.page?.returnTo ?? pathOf(request));
      assertSameOrigin(request, this.config.publicUrl);
      request.auth = auth;
      return true;
    }
    const auth = await this.authentication.caller(context);
    if (!auth) throw Errors.unauthenticated();
    if (browserSessionRequired(route.authenticated, auth.via))
      throw SessionErrors.browserSessionRequired();
    this.admit(request, auth);
    return true;
  }

  /** A session proved by the cookie is the browser's ambient credential: our own origin only. */
  private admit(request: HttpRequest, auth: AuthContext): void {
    if (auth.via === 'cookie') assertSameOrigin(request, this.config.publicUrl);
    request.auth = auth;
  }
}
