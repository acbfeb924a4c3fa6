import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { AppConfig } from '../../config/app-config.js';
import { type EsiaConfig } from '../../config/gosuslugi.config.js';
import { sealContext } from '../../identity/federated-identity.entity.js';
import { type VerifiedIdentity } from '../../identity/identity-links.service.js';
import { PersonalDataKey } from '../../identity/personal-data-key.service.js';
import {
  type AuthorizationRequest,
  CONTINUE_PATH,
  type IdentityProviderClient,
  ProviderError,
} from '../provider-client.js';
import { certificateHash, loadCertificate } from './certificates.js';
import {
  checkAccessToken,
  checkIdToken,
  type ExpectedClaims,
  verifyEsiaToken,
} from './esia-claims.js';
import { EsiaEndpoints, type EsiaMaterial } from './esia-endpoints.js';
import { UUID_V4 } from './esia-format.js';
import { EsiaPersonData } from './esia-person-data.js';
import { createSigner } from './signer.js';

/**
 * The `esia` profile: the real ЕСИА is OAuth-like, not OpenID Connect (no discovery, no JWKS,
 * GOST-signed client secrets), so this client is written against ESIA.md: signed requests to
 * /aas/oauth2/v2/ac and /v3/te, a fresh UUID state on the token request, PKCE S256 (ЕСИА binds
 * the code to `code_challenge` and answers a wrong `code_verifier` with ESIA-007040), ID and
 * access tokens verified against configured certificates, names and `trusted` from /rs/prns/{oid}.
 */
@Injectable()
export class EsiaClient implements IdentityProviderClient, OnApplicationBootstrap {
  private readonly logger = new Logger('EsiaClient');
  private readonly esia: EsiaConfig;
  private readonly endpoints: EsiaEndpoints;
  private readonly persons: EsiaPersonData;
  private readonly expected: ExpectedClaims;
  private material: Promise<EsiaMaterial> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly personalData: PersonalDataKey,
  ) {
    if (!config.gosuslugi.esia) throw new Error('EsiaClient needs the esia profile');
    this.esia = config.gosuslugi.esia;
    this.endpoints = new EsiaEndpoints(config, this.logger);
    this.persons = new EsiaPersonData(config, personalData, this.endpoints, this.logger);
    this.expected = {
      issuer: config.gosuslugi.issuer,
      clientId: config.gosuslugi.clientId,
      nonce: this.esia.nonce,
    };
  }

  /**
   * Certificates and the local key are read and checked at start (after the development
   * stand-in made its material), so an unreadable file, an unsupported GOST parameter set or a
   * key of another certificate stops the service with the reason instead of failing each login.
   */
  async onApplicationBootstrap(): Promise<void> {
    try {
      const { certificateHash: hash, system } = await this.load();
      // What the operator compares with the certificate registered in ЕСИА's technological portal.
      this.logger.log(
        {
          clientCertificateHash: hash,
          certificate: system.subject,
          parameterSet:
            system.key.kind === 'gost2012-256' ? system.key.publicKey.parameterSet.name : 'rsa',
          baseUrl: this.esia.preset.baseUrl,
        },
        'ЕСИА system certificate loaded',
      );
    } catch (error) {
      const reason = error instanceof ProviderError ? error.cause : error;
      throw new Error(
        `ЕСИА (GOSUSLUGI_PROFILE=esia): ${reason instanceof Error ? reason.message : String(reason)}`,
        { cause: error },
      );
    }
  }

  /** Read once and kept; a failure (a file replaced while running) is retried next time. */
  private load(): Promise<EsiaMaterial> {
    this.material ??= (async () => {
      const system = loadCertificate(await readFile(this.esia.certificateFile));
      const tokenCertificates = await Promise.all(
        this.esia.tokenCertificateFiles.map(async (file) => loadCertificate(await readFile(file))),
      );
      return {
        system,
        certificateHash: certificateHash(system),
        tokenCertificates,
        signer: await createSigner(this.esia, system),
      };
    })().catch((error: unknown) => {
      this.material = null;
      throw new ProviderError('unavailable', 'certificates_unreadable', { cause: error });
    });
    return this.material;
  }

  /**
   * ЕСИА has no `prompt=login`: to make it ask for the person again, the browser first goes
   * through its logout, which comes back to our continue address, which then sends it here
   * without `reauthenticate` (the way the public ЕСИА clients do it).
   */
  async authorizationUrl(
    request: AuthorizationRequest,
    options: { reauthenticate?: boolean } = {},
  ): Promise<URL> {
    if (!UUID_V4.test(request.state)) throw new Error('ЕСИА state must be a UUID v4');
    if (options.reauthenticate) return this.logoutUrl(this.config.publicUrl + CONTINUE_PATH);
    return this.endpoints.authorizationUrl(await this.load(), request);
  }

  logoutUrl(returnTo: string): Promise<URL> {
    return Promise.resolve(this.endpoints.logoutUrl(returnTo));
  }

  async complete(callbackUrl: URL, request: AuthorizationRequest): Promise<VerifiedIdentity> {
    const query = callbackUrl.searchParams;
    const error = query.get('error');
    if (error) throw this.endpoints.providerError(error, query.get('error_description'));
    // The transaction was found by its cookie and its state already matched the callback's.
    const code = query.get('code');
    if (!code || query.get('state') !== request.state)
      throw new ProviderError('rejected', 'invalid_callback');

    const material = await this.load();
    // The verifier of this browser's transaction: a code ЕСИА issued to another round trip (a
    // stolen one, sent with the attacker's own state) is bound to another challenge and refused.
    const tokens = await this.endpoints.tokenRequest(material, {
      grant_type: 'authorization_code',
      code,
      code_verifier: request.codeVerifier,
    });
    if (typeof tokens.id_token !== 'string')
      throw new ProviderError('rejected', 'token_response_incomplete');
    const [idToken, accessToken] = await Promise.all([
      verifyEsiaToken(tokens.id_token, material.tokenCertificates, 'id_token'),
      verifyEsiaToken(tokens.access_token, material.tokenCertificates, 'access_token'),
    ]);
    const subject = checkIdToken(idToken, request, this.expected);
    checkAccessToken(accessToken, subject, this.expected);
    return this.persons.identity(subject, tokens);
  }

  /**
   * Offline access: the person's data read again with the identity's sealed refresh token (the
   * text signed without a code, a fresh state echoed back), and the new refresh token sealed in
   * its place. ЕСИА's refresh tokens are single use.
   */
  async refresh(
    identity: { issuer: string; subject: string; refreshTokenSealed: string | null },
    keep: (sealedRefreshToken: string) => Promise<void>,
  ): Promise<VerifiedIdentity> {
    if (this.esia.accessType !== 'offline')
      throw new ProviderError('rejected', 'offline_access_off');
    const refreshToken =
      identity.refreshTokenSealed &&
      this.personalData.open(identity.refreshTokenSealed, sealContext(identity));
    if (!refreshToken) throw new ProviderError('rejected', 'refresh_token_missing');
    const material = await this.load();
    const tokens = await this.endpoints.tokenRequest(material, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    // The old token is spent at ЕСИА now: the new one is kept before anything else can fail.
    if (tokens.refresh_token)
      await keep(this.personalData.seal(tokens.refresh_token, sealContext(identity)));
    const accessToken = await verifyEsiaToken(
      tokens.access_token,
      material.tokenCertificates,
      'access_token',
    );
    checkAccessToken(accessToken, identity.subject, this.expected);
    return this.persons.identity(identity.subject, { access_token: tokens.access_token });
  }
}
