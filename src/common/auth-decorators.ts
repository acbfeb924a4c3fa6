import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Request, type Response } from 'express';
import { type IdentityClaimsSnapshot } from '../identity/federated-identity.entity.js';
import { type User } from '../identity/user.entity.js';
import { type AuthMethod, type Session } from '../sessions/session.entity.js';

/** How a handler is reached. Every route states one; the route inventory test enforces it. */
export type AccessDecision = 'public' | 'page' | 'authenticated';

/** Anyone may call the route. */
export const Public = Reflector.createDecorator<void, 'public'>({ transform: () => 'public' });
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
 * A server-rendered form post: the guard refuses another origin first (403
 * `cross_origin_request`), before anything else is looked at; the form token is then checked and
 * a stale form answered by the controller's `staleForm` hook (FormTokenInterceptor). On a @Page()
 * route the session is required between the two, as the handlers did by hand.
 */
export const FormPost = Reflector.createDecorator<void, true>({ transform: () => true });
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
      formPost: Boolean(reflector.getAllAndOverride(FormPost, targets)),
      page: reflector.getAllAndOverride(Page, targets),
      authenticated: reflector.getAllAndOverride(Authenticated, targets),
    };
    byHandler.set(handler, access);
  }
  return access;
}

/**
 * What authentication checked on every request, as the session cache holds it: enough to decide
 * and to answer who is calling, without making entities. Shared between requests: never mutated.
 */
export interface SessionFacts {
  readonly sessionId: string;
  readonly userId: string;
  readonly login: string;
  readonly method: AuthMethod;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
  readonly authenticatedAt: Date;
  readonly idleExpiresAt: Date;
  readonly absoluteExpiresAt: Date;
  readonly revokedAt: Date | null;
  readonly userActive: boolean;
  readonly sessionsValidAfter: Date | null;
  /** The second factor the session proved (`otp`), or null. */
  readonly secondFactor: string | null;
  /** Whether the user is a platform operator (who must have proved a second factor). */
  readonly operator: boolean;
  /** The user's linked identities, oldest first, for «Личный кабинет» (`GET /api/v1/me`). */
  readonly identities: readonly LinkedIdentityFacts[];
}

export interface LinkedIdentityFacts {
  readonly provider: string;
  readonly linkedAt: Date;
  readonly lastLoginAt: Date | null;
  readonly claims: Readonly<IdentityClaimsSnapshot>;
}

export interface AuthContext {
  /**
   * The caller's user and session as managed entities of the request's unit of work. Made on
   * first use: mapping them was the largest cost of an authenticated request that needs neither.
   */
  readonly user: User;
  readonly session: Session;
  readonly facts: SessionFacts;
  /** How the caller proved the session: the browser cookie or a bearer access token. */
  readonly via: 'cookie' | 'bearer';
}

declare module 'express' {
  interface Request {
    auth?: AuthContext;
  }
}

/** The authenticated caller (on a @Page(), by its cookie); only valid on routes that are not @Public(). */
export const CurrentAuth = createParamDecorator(
  (_: unknown, context: ExecutionContext): AuthContext => {
    const request = context.switchToHttp().getRequest<Request>();
    if (!request.auth) throw new Error('CurrentAuth used on a route without authentication');
    return request.auth;
  },
);

/** What a controller is told about a form whose token did not match, to show it again. */
export interface StaleForm {
  request: Request;
  response: Response;
  /** The signed-in caller on a @Page() form; null on an anonymous one. */
  auth: AuthContext | null;
  /** The handler the form was posted to, for a controller with several forms. */
  handler: string;
  /** A field of the posted form as the browser sent it (not yet validated), if it is a string. */
  readonly field: (name: string) => string | undefined;
}

/** A controller whose forms re-render themselves (status 403, with STALE_FORM) when stale. */
export interface StaleFormPage {
  staleForm(form: StaleForm): Promise<void> | void;
}
