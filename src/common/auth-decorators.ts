import { type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';

/** How a handler is reached. Every route states one; the route inventory test enforces it. */
export type AccessDecision = 'public' | 'page' | 'authenticated';

/**
 * Anyone may call the route. With `session: 'optional'` the guard still looks for a live session
 * (an access token, or else the cookie) and hands it to the handler as `request.auth`; a cookie
 * caller must then come from our own origin, as on an authenticated route. Without a live session
 * the request goes on as anyone's (a logout clears an ended session's cookie).
 */
export const Public = Reflector.createDecorator<PublicOptions | void, PublicOptions>({
  transform: (options) => options ?? {},
});
export interface PublicOptions {
  session?: 'optional';
}
/**
 * A live session (cookie) or an access token bound to a live session is required. With
 * `via: 'cookie'` only the browser session will do: the guard refuses an access token (403
 * `browser_session_required`) for what only the browser may do (replace its session, mint tokens,
 * manage sessions).
 */
export const Authenticated = Reflector.createDecorator<
  AuthenticatedOptions | void,
  AuthenticatedOptions
>({ transform: (options) => options ?? {} });
export interface AuthenticatedOptions {
  via?: 'cookie';
}
/**
 * A page for a signed-in person: the guard loads the session from the cookie (never a bearer
 * token) and sends a browser without one to `/login?returnTo=…` instead of answering 401 JSON.
 * `returnTo` is where the login comes back to; by default the path asked for (right for GET pages,
 * while a form names the page it belongs to).
 */
export const Page = Reflector.createDecorator<PageOptions | void, PageOptions>({
  transform: (options) => options ?? {},
});
export interface PageOptions {
  returnTo?: string;
}
/**
 * What @FormPost() (src/rendering/form-post.ts) marks a server-rendered form post with: the guard
 * refuses another origin first (403 `cross_origin_request`), before anything else is looked at;
 * the form token is then checked and a stale form answered by the controller's `staleForm` hook
 * (FormTokenInterceptor, bound to the route by @FormPost()). On a @Page() route the session is
 * required between the two, as the handlers did by hand.
 */
export const FormPostMark = Reflector.createDecorator<void, true>({ transform: () => true });
/** Marks credential-guessing targets (login, registration): they share a stricter per-IP limit. */
export const CredentialEndpoint = Reflector.createDecorator<void, true>({ transform: () => true });
/**
 * Credential endpoints that guess the same secret draw on one throttle count per address (the
 * password login API and the login page): a second door must not double a sprayer's guesses.
 */
export const ThrottleGroup = Reflector.createDecorator<string>();

export function accessDecision(
  reflector: Reflector,
  context: ExecutionContext,
): AccessDecision | undefined {
  const targets = [context.getHandler(), context.getClass()];
  if (reflector.getAllAndOverride(Public, targets)) return 'public';
  if (reflector.getAllAndOverride(Page, targets)) return 'page';
  if (reflector.getAllAndOverride(Authenticated, targets)) return 'authenticated';
  return undefined;
}

/** What the global guard and the form-token interceptor read of a route's decorators. */
export interface RouteAccess {
  readonly decision: AccessDecision | undefined;
  readonly public: PublicOptions | undefined;
  readonly formPost: boolean;
  readonly page: PageOptions | undefined;
  readonly authenticated: AuthenticatedOptions | undefined;
}

const routeAccessCache = new WeakMap<object, WeakMap<object, RouteAccess>>();

/**
 * A route's decorators as the guard reads them, read once per handler: decorators are fixed when
 * the classes are defined, and reading them through the Reflector on every request (four
 * look-ups of metadata on handler and class) cost more than most decisions they feed.
 */
export function routeAccess(reflector: Reflector, context: ExecutionContext): RouteAccess {
  const handler = context.getHandler();
  const type = context.getClass();
  let byHandler = routeAccessCache.get(type);
  if (!byHandler) routeAccessCache.set(type, (byHandler = new WeakMap()));
  let access = byHandler.get(handler);
  if (!access) {
    const targets = [handler, type];
    access = {
      decision: accessDecision(reflector, context),
      public: reflector.getAllAndOverride(Public, targets),
      formPost: Boolean(reflector.getAllAndOverride(FormPostMark, targets)),
      page: reflector.getAllAndOverride(Page, targets),
      authenticated: reflector.getAllAndOverride(Authenticated, targets),
    };
    byHandler.set(handler, access);
  }
  return access;
}
