import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { type HttpRequest, type HttpResponse } from '../common/http.js';
import { type IdentityClaimsSnapshot } from '../identity/federated-identity.entity.js';
import { type User, type UserProfile } from '../identity/user.entity.js';
import { type AuthMethod, type Session } from './session.entity.js';

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
  /**
   * The account as «Личный кабинет» (`GET /api/v1/me`) shows it, read with the session: the cache
   * holds it only while the `users` trigger would tell of a change.
   */
  readonly profile: UserProfile;
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

declare module '../common/http.js' {
  interface HttpRequest {
    auth?: AuthContext;
  }
}

/**
 * The caller the guard authenticated. A parameter decorator (`reader`) that reads it on a route
 * without authentication is a programming error, not a refusal: it throws.
 */
export function authOf(request: HttpRequest, reader: string): AuthContext {
  if (!request.auth) throw new Error(`${reader} used on a route without authentication`);
  return request.auth;
}

/** The authenticated caller (on a @Page(), by its cookie); only valid on routes that are not @Public(). */
export const CurrentAuth = createParamDecorator(
  (_: unknown, context: ExecutionContext): AuthContext =>
    authOf(context.switchToHttp().getRequest<HttpRequest>(), 'CurrentAuth'),
);

/** What a controller is told about a form whose token did not match, to show it again. */
export interface StaleForm {
  request: HttpRequest;
  response: HttpResponse;
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
