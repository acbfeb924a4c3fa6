import { Injectable, Logger } from '@nestjs/common';
import * as client from 'openid-client';
import { AppConfig } from '../config/app-config.js';
import { type VerifiedIdentity } from '../identity/identity-links.service.js';
import { PersonalDataKey } from '../identity/personal-data-key.service.js';
import { GOSUSLUGI_PROVIDER } from './gosuslugi.texts.js';
import {
  assertFreshAuthentication,
  type AuthorizationRequest,
  type IdentityProviderClient,
  OAUTH_ERRORS,
  ProviderError,
} from './provider-client.js';

const oauthCode = (error: string) => (OAUTH_ERRORS.has(error) ? error : 'provider_error');

/**
 * The `oidc` and `dev` profiles: a standard OpenID Connect provider through openid-client 6 —
 * discovery, PKCE S256, state, nonce, exact issuer, RFC 9207 `iss`, and ID token signatures
 * checked against the provider's JWKS (non-repudiation checks on).
 */
@Injectable()
export class OidcClient implements IdentityProviderClient {
  private readonly logger = new Logger('OidcClient');
  private configuration: Promise<client.Configuration> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly personalData: PersonalDataKey,
  ) {}

  /** Discovery on first use (the provider may be down at start), retried after a failure. */
  private discover(): Promise<client.Configuration> {
    this.configuration ??= (async () => {
      const { issuer, clientId, clientSecret } = this.config.gosuslugi;
      const insecure = issuer.startsWith('http://') && !this.config.isProduction;
      const configuration = await client.discovery(
        new URL(issuer),
        clientId,
        undefined,
        client.ClientSecretBasic(clientSecret),
        {
          execute: insecure ? [client.allowInsecureRequests] : [],
        },
      );
      client.enableNonRepudiationChecks(configuration);
      return configuration;
    })().catch((error: unknown) => {
      this.configuration = null;
      throw new ProviderError('unavailable', 'discovery_failed', { cause: error });
    });
    return this.configuration;
  }

  async authorizationUrl(
    request: AuthorizationRequest,
    options: { reauthenticate?: boolean } = {},
  ): Promise<URL> {
    const configuration = await this.discover();
    return client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.config.gosuslugi.redirectUri,
      scope: this.config.gosuslugi.scopes,
      state: request.state,
      nonce: request.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
      code_challenge_method: 'S256',
      // max_age=0 makes auth_time mandatory in the ID token (OpenID Connect Core 3.1.2.1).
      ...(options.reauthenticate && { prompt: 'login', max_age: '0' }),
    });
  }

  /**
   * RP-initiated logout, when discovery offers an `end_session_endpoint`. A provider that is down
   * must not keep a person from logging out of this service: then there is no provider logout.
   */
  async logoutUrl(returnTo: string): Promise<URL | null> {
    let configuration: client.Configuration;
    try {
      configuration = await this.discover();
    } catch (error) {
      this.logger.warn({ err: error }, 'provider logout skipped: discovery failed');
      return null;
    }
    if (!configuration.serverMetadata().end_session_endpoint) return null;
    return client.buildEndSessionUrl(configuration, {
      post_logout_redirect_uri: returnTo,
      client_id: this.config.gosuslugi.clientId,
    });
  }

  /** Exchanges the code and returns the identity only when every check passed. */
  async complete(callbackUrl: URL, request: AuthorizationRequest): Promise<VerifiedIdentity> {
    const configuration = await this.discover();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: request.codeVerifier,
        expectedState: request.state,
        expectedNonce: request.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw this.classify(error);
    }
    const idToken = tokens.claims();
    if (!idToken) throw new ProviderError('rejected', 'no_id_token');
    assertFreshAuthentication(request, idToken.auth_time, true);
    // OpenID Connect Core 5.4: with an access token, the profile claims come from UserInfo, not
    // the ID token (oidc-provider's default, conformIdTokenClaims). Read it when they are absent;
    // fetchUserInfo refuses an answer about another `sub`.
    let claims: Record<string, unknown> = idToken;
    if (idToken.family_name === undefined && idToken.given_name === undefined) {
      try {
        claims = {
          ...idToken,
          ...(await client.fetchUserInfo(configuration, tokens.access_token, idToken.sub)),
        };
      } catch (error) {
        throw this.classify(error);
      }
    }
    const text = (value: unknown) =>
      typeof value === 'string' && value.length <= 100 ? value : undefined;
    // With the `snils` scope only the keyed digest is kept, for matching; never the number.
    const snilsDigest =
      this.config.gosuslugi.scopes.split(' ').includes('snils') && typeof claims.snils === 'string'
        ? this.personalData.snilsDigest(claims.snils)
        : null;
    const email =
      claims.email_verified === true &&
      typeof claims.email === 'string' &&
      claims.email.length <= 254
        ? claims.email
        : undefined;
    return {
      provider: GOSUSLUGI_PROVIDER,
      issuer: configuration.serverMetadata().issuer,
      subject: idToken.sub,
      claims: {
        lastName: text(claims.family_name),
        firstName: text(claims.given_name),
        middleName: text(claims.middle_name),
        trusted: typeof claims.trusted === 'boolean' ? claims.trusted : undefined,
        ...(email && { email }),
        ...(snilsDigest && { snilsDigest }),
        readAt: new Date().toISOString(),
      },
    };
  }

  private classify(error: unknown): ProviderError {
    if (error instanceof client.AuthorizationResponseError) {
      return error.error === 'access_denied'
        ? new ProviderError('cancelled', error.error, { cause: error })
        : new ProviderError('rejected', oauthCode(error.error), { cause: error });
    }
    if (error instanceof client.ResponseBodyError)
      return new ProviderError('rejected', oauthCode(error.error), { cause: error });
    if (error instanceof client.ClientError) {
      const code = (error as { code?: string }).code ?? 'invalid_response';
      return new ProviderError('rejected', code, { cause: error });
    }
    if (error instanceof TypeError)
      return new ProviderError('unavailable', 'network_error', { cause: error });
    this.logger.error({ err: error }, 'unexpected error from the OpenID Connect client');
    return new ProviderError('rejected', 'invalid_response', { cause: error });
  }
}
