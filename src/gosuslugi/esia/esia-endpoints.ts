import { type Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { type AppConfig } from '../../config/app-config.js';
import { type EsiaConfig } from '../../config/gosuslugi.config.js';
import { type AuthorizationRequest, ProviderError } from '../provider-client.js';
import { type LoadedCertificate } from './certificates.js';
import { describeEsiaError, esiaErrorCode, esiaErrorMessage } from './esia-errors.js';
import { clientSecretText, esiaTimestamp } from './esia-format.js';
import { type ClientSecretSigner } from './signer.js';

const HTTP_TIMEOUT_MS = 15_000;

/** The certificates and the signer, read and checked once (EsiaClient.load). */
export interface EsiaMaterial {
  system: LoadedCertificate;
  certificateHash: string;
  tokenCertificates: LoadedCertificate[];
  signer: ClientSecretSigner;
}

export type EsiaGrant =
  | { grant_type: 'authorization_code'; code: string; code_verifier: string }
  | { grant_type: 'refresh_token'; refresh_token: string };

export interface EsiaTokens {
  id_token?: string;
  access_token: string;
  refresh_token?: string;
}

/**
 * ЕСИА's addresses as ESIA.md gives them: the signed authorization redirect and logout, the
 * token endpoint /v3/te, and the REST resources about the person. Every request has a deadline,
 * and every error ЕСИА answers becomes a ProviderError by its catalogue entry.
 */
export class EsiaEndpoints {
  private readonly esia: EsiaConfig;

  constructor(
    private readonly config: AppConfig,
    private readonly logger: Logger,
  ) {
    if (!config.gosuslugi.esia) throw new Error('EsiaEndpoints needs the esia profile');
    this.esia = config.gosuslugi.esia;
  }

  private url(path: string): URL {
    return new URL(this.esia.preset.baseUrl + path);
  }

  private async clientSecret(
    signer: ClientSecretSigner,
    state: string,
    timestamp: string,
    code?: string,
  ): Promise<string> {
    const { clientId, scopes, redirectUri } = this.config.gosuslugi;
    const text = clientSecretText({ clientId, scope: scopes, timestamp, state, redirectUri, code });
    try {
      return (await signer.sign(text)).toString('base64url');
    } catch (error) {
      throw new ProviderError('unavailable', 'signer_failed', { cause: error });
    }
  }

  /** /aas/oauth2/v2/ac with the signed parameters, the nonce and the PKCE challenge. */
  async authorizationUrl(
    { certificateHash: hash, signer }: EsiaMaterial,
    request: AuthorizationRequest,
  ): Promise<URL> {
    const timestamp = esiaTimestamp();
    const url = this.url(this.esia.preset.authorizationPath);
    url.search = new URLSearchParams({
      client_id: this.config.gosuslugi.clientId,
      client_secret: await this.clientSecret(signer, request.state, timestamp),
      client_certificate_hash: hash,
      redirect_uri: this.config.gosuslugi.redirectUri,
      scope: this.config.gosuslugi.scopes,
      response_type: 'code',
      state: request.state,
      timestamp,
      access_type: this.esia.accessType,
      nonce: request.nonce,
      // Not part of the signed text (ЕСИА signs only client_id, scope, timestamp, state and
      // redirect_uri): the binding comes from ЕСИА comparing it with the token request's verifier.
      code_challenge: await client.calculatePKCECodeChallenge(request.codeVerifier),
      code_challenge_method: 'S256',
    }).toString();
    return url;
  }

  /** `/idp/ext/Logout?client_id=…&redirect_url=…` (ЕСИА spells it `redirect_url`). */
  logoutUrl(returnTo: string): URL {
    const url = this.url(this.esia.preset.logoutPath);
    url.search = new URLSearchParams({
      client_id: this.config.gosuslugi.clientId,
      redirect_url: returnTo,
    }).toString();
    return url;
  }

  /**
   * A request to /v3/te: a code with its PKCE verifier (signed text + code; the verifier is not
   * signed) or a refresh token (signed text alone), with a fresh UUID state that ЕСИА echoes.
   */
  async tokenRequest(
    { certificateHash: hash, signer }: EsiaMaterial,
    grant: EsiaGrant,
  ): Promise<EsiaTokens> {
    const state = randomUUID();
    const timestamp = esiaTimestamp();
    const code = grant.grant_type === 'authorization_code' ? grant.code : undefined;
    const body = new URLSearchParams({
      client_id: this.config.gosuslugi.clientId,
      ...grant,
      client_secret: await this.clientSecret(signer, state, timestamp, code),
      client_certificate_hash: hash,
      state,
      redirect_uri: this.config.gosuslugi.redirectUri,
      scope: this.config.gosuslugi.scopes,
      timestamp,
      token_type: 'Bearer',
    });
    let response: Response;
    try {
      response = await fetch(this.url(this.esia.preset.tokenPath), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body,
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    } catch (error) {
      throw new ProviderError('unavailable', 'token_endpoint_unreachable', { cause: error });
    }
    const payload = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok || typeof payload.error === 'string') {
      throw this.providerError(
        typeof payload.error === 'string' ? payload.error : `http_${response.status}`,
        typeof payload.error_description === 'string' ? payload.error_description : null,
      );
    }
    if (payload.state !== state) throw new ProviderError('rejected', 'token_state_mismatch');
    if (typeof payload.access_token !== 'string')
      throw new ProviderError('rejected', 'token_response_incomplete');
    return {
      access_token: payload.access_token,
      ...(typeof payload.id_token === 'string' && { id_token: payload.id_token }),
      ...(typeof payload.refresh_token === 'string' && { refresh_token: payload.refresh_token }),
    };
  }

  /** GET of an ЕСИА REST resource about the person `oid` (`suffix` a collection), with the access token. */
  async personResource(
    oid: string,
    suffix: string,
    accessToken: string,
    what: string,
  ): Promise<Record<string, unknown>> {
    const path = this.esia.preset.personPath.replace('{oid}', encodeURIComponent(oid)) + suffix;
    let response: Response;
    try {
      response = await fetch(this.url(path), {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    } catch (error) {
      throw new ProviderError('unavailable', `${what}_endpoint_unreachable`, { cause: error });
    }
    if (!response.ok)
      throw new ProviderError(
        response.status >= 500 ? 'unavailable' : 'rejected',
        `${what}_endpoint_${response.status}`,
      );
    const body: unknown = await response.json().catch(() => null);
    if (typeof body !== 'object' || body === null)
      throw new ProviderError('rejected', `${what}_record_malformed`);
    return body as Record<string, unknown>;
  }

  /** An error ЕСИА answered (redirect or token response), by its catalogue entry. */
  providerError(error: string, description: string | null): ProviderError {
    const esiaCode = esiaErrorCode(description);
    const described = describeEsiaError(esiaCode, error);
    this.logger.warn(
      { esiaError: error, esiaCode, code: described.code },
      `ЕСИА answered ${esiaCode ?? error}`,
    );
    return new ProviderError(described.kind, described.code, {
      ...(described.kind !== 'cancelled' && { detail: esiaErrorMessage(esiaCode, error) }),
    });
  }
}
