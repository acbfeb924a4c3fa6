import { type VerifiedIdentity } from '../identity/identity-links.service.js';
import { type LoginTransaction } from './login-transaction.entity.js';

/** One round trip's secrets, as the transaction keeps them. */
export type AuthorizationRequest = Pick<LoginTransaction, 'state' | 'nonce' | 'codeVerifier'>;

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
