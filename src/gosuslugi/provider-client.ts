import { type VerifiedIdentity } from '../identity/identity-links.service.js';
import { LoginPurpose } from './login-purpose.js';
import { type LoginTransaction } from './login-transaction.entity.js';

/** One round trip's secrets, what it is for and when it began, as the transaction keeps them. */
export type AuthorizationRequest = Pick<
  LoginTransaction,
  'state' | 'nonce' | 'codeVerifier' | 'purpose' | 'createdAt'
>;

/**
 * RFC 6749's error names and OpenID Connect's prompt errors: the only words of a provider that
 * may become a stable code of ours (anything else it says is only logged).
 */
export const OAUTH_ERRORS: ReadonlySet<string> = new Set([
  'invalid_request',
  'unauthorized_client',
  'invalid_client',
  'invalid_grant',
  'unsupported_grant_type',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
]);

/** Clock difference tolerated between this service and the provider, for every time claim. */
export const CLOCK_TOLERANCE_S = 60;

/**
 * A link or an invitation binds whoever comes back, so the provider must have checked the person
 * during this round trip (`prompt=login` with `max_age=0`, or ЕСИА's logout first), not reused an
 * older session: an ID token whose `auth_time` is before the round trip began is refused. With
 * `required` (standard OpenID providers, which must send it for `max_age`) a token without one is
 * refused too; ЕСИА is not documented to send it, so there its absence is not judged.
 */
export function assertFreshAuthentication(
  request: AuthorizationRequest,
  authTime: unknown,
  required: boolean,
): void {
  if (request.purpose === LoginPurpose.Login) return;
  const seconds =
    typeof authTime === 'number'
      ? authTime
      : typeof authTime === 'string' && /^\d{1,12}$/.test(authTime)
        ? Number(authTime)
        : null;
  if (seconds === null) {
    if (required) throw new ProviderError('rejected', 'id_token_auth_time');
    return;
  }
  if (seconds + CLOCK_TOLERANCE_S < Math.floor(request.createdAt.getTime() / 1000))
    throw new ProviderError('rejected', 'id_token_auth_time');
}

/** The relying-party side of one provider profile (`oidc`/`dev` or `esia`). */
export interface IdentityProviderClient {
  /** `reauthenticate` asks the provider to check the person again instead of reusing its session. */
  authorizationUrl(
    request: AuthorizationRequest,
    options?: { reauthenticate?: boolean },
  ): Promise<URL>;
  /** Every protocol check passes, or a ProviderError is thrown. */
  complete(callbackUrl: URL, request: AuthorizationRequest): Promise<VerifiedIdentity>;
  /**
   * Where to send the browser so that the provider's own session ends too, coming back to
   * `returnTo` (one of our absolute URLs); null when the provider offers no logout.
   */
  logoutUrl(returnTo: string): Promise<URL | null>;
  /** Offline access (`esia` only): the person's data again, with the identity's sealed refresh token. */
  refresh?(
    identity: { issuer: string; subject: string; refreshTokenSealed: string | null },
    keep: (sealedRefreshToken: string) => Promise<void>,
  ): Promise<VerifiedIdentity>;
}

/** Where «Выйти» lands, after the provider's logout too. */
export const LOGGED_OUT_PATH = '/login?notice=logged_out';

/** Where the provider's logout sends the browser back to before a fresh authorization. */
export const CONTINUE_PATH = '/auth/gosuslugi/continue';

export const IDENTITY_PROVIDER_CLIENT = Symbol('IDENTITY_PROVIDER_CLIENT');

/** Something went wrong between us and the provider; `code` is for the log and the page. */
export class ProviderError extends Error {
  constructor(
    readonly kind: 'cancelled' | 'rejected' | 'unavailable',
    readonly code: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(`${kind}: ${code}`, options);
    this.name = 'ProviderError';
    this.detail = options?.detail;
  }

  /** A Russian sentence for the page, when the provider said something specific (ЕСИА codes). */
  readonly detail?: string;
}
