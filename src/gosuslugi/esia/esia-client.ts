import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { sameSecret } from '../../common/secrets.js';
import { AppConfig } from '../../config/app-config.js';
import { type EsiaConfig } from '../../config/gosuslugi.config.js';
import {
  type IdentityOrganization,
  sealContext,
} from '../../identity/federated-identity.entity.js';
import { type VerifiedIdentity } from '../../identity/identity-links.service.js';
import { PersonalDataKey } from '../../identity/personal-data-key.service.js';
import { GOSUSLUGI_PROVIDER } from '../gosuslugi.texts.js';
import {
  assertFreshAuthentication,
  type AuthorizationRequest,
  CLOCK_TOLERANCE_S,
  CONTINUE_PATH,
  type IdentityProviderClient,
  ProviderError,
} from '../provider-client.js';
import { certificateHash, loadCertificate, type LoadedCertificate } from './certificates.js';
import { describeEsiaError, esiaErrorCode, esiaErrorMessage } from './esia-errors.js';
import { clientSecretText, esiaTimestamp, UUID_V4 } from './esia-format.js';
import { createSigner, type ClientSecretSigner } from './signer.js';
import { TokenRejected, verifyEsiaJwt } from './token-verifier.js';

const HTTP_TIMEOUT_MS = 15_000;

interface Material {
  system: LoadedCertificate;
  certificateHash: string;
  tokenCertificates: LoadedCertificate[];
  signer: ClientSecretSigner;
}

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
  private material: Promise<Material> | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly personalData: PersonalDataKey,
  ) {
    if (!config.gosuslugi.esia) throw new Error('EsiaClient needs the esia profile');
    this.esia = config.gosuslugi.esia;
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
  private load(): Promise<Material> {
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
    const { certificateHash: hash, signer } = await this.load();
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
  logoutUrl(returnTo: string): Promise<URL> {
    const url = this.url(this.esia.preset.logoutPath);
    url.search = new URLSearchParams({
      client_id: this.config.gosuslugi.clientId,
      redirect_url: returnTo,
    }).toString();
    return Promise.resolve(url);
  }

  async complete(callbackUrl: URL, request: AuthorizationRequest): Promise<VerifiedIdentity> {
    const query = callbackUrl.searchParams;
    const error = query.get('error');
    if (error) throw this.providerError(error, query.get('error_description'));
    // The transaction was found by its cookie and its state already matched the callback's.
    const code = query.get('code');
    if (!code || query.get('state') !== request.state)
      throw new ProviderError('rejected', 'invalid_callback');

    const material = await this.load();
    // The verifier of this browser's transaction: a code ЕСИА issued to another round trip (a
    // stolen one, sent with the attacker's own state) is bound to another challenge and refused.
    const tokens = await this.tokenRequest(material, {
      grant_type: 'authorization_code',
      code,
      code_verifier: request.codeVerifier,
    });
    if (typeof tokens.id_token !== 'string')
      throw new ProviderError('rejected', 'token_response_incomplete');
    const [idToken, accessToken] = await Promise.all([
      this.verify(tokens.id_token, material.tokenCertificates, 'id_token'),
      this.verify(tokens.access_token, material.tokenCertificates, 'access_token'),
    ]);
    const subject = this.checkIdToken(idToken, request);
    this.checkAccessToken(accessToken, subject);
    return this.identity(subject, tokens);
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
    const tokens = await this.tokenRequest(material, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    });
    // The old token is spent at ЕСИА now: the new one is kept before anything else can fail.
    if (tokens.refresh_token)
      await keep(this.personalData.seal(tokens.refresh_token, sealContext(identity)));
    const accessToken = await this.verify(
      tokens.access_token,
      material.tokenCertificates,
      'access_token',
    );
    this.checkAccessToken(accessToken, identity.subject);
    return this.identity(identity.subject, { access_token: tokens.access_token });
  }

  /** The person behind a verified access token: names, `trusted`, and what the scopes allow. */
  private async identity(
    subject: string,
    tokens: { access_token: string; refresh_token?: string },
  ): Promise<VerifiedIdentity> {
    const person = await this.person(subject, tokens.access_token);
    const text = (value: unknown) =>
      typeof value === 'string' && value.length <= 100 ? value : undefined;
    const scopes = this.config.gosuslugi.scopes.split(' ');
    // Extra data, not the identity: a failure to read it leaves it out instead of refusing the login.
    const [contacts, organizations] = await Promise.all([
      scopes.some((scope) => ['contacts', 'email', 'mobile'].includes(scope))
        ? this.optional(this.verifiedContacts(subject, tokens.access_token), 'contacts')
        : { value: undefined, failed: false },
      scopes.includes('usr_org')
        ? this.optional(this.organizations(subject, tokens.access_token), 'roles')
        : { value: undefined, failed: false },
    ]);
    const unread = [
      ...(contacts.failed ? (['contacts'] as const) : []),
      ...(organizations.failed ? (['organizations'] as const) : []),
    ];
    const issuer = this.config.gosuslugi.issuer;
    // Kept only with offline access, and only sealed for this identity.
    const keep = this.esia.accessType === 'offline' && tokens.refresh_token;
    return {
      provider: GOSUSLUGI_PROVIDER,
      issuer,
      subject,
      claims: {
        lastName: text(person.lastName),
        firstName: text(person.firstName),
        middleName: text(person.middleName),
        trusted: typeof person.trusted === 'boolean' ? person.trusted : undefined,
        ...contacts.value,
        ...(organizations.value && { organizations: organizations.value }),
        ...this.snils(person.snils),
        readAt: new Date().toISOString(),
      },
      ...(keep && {
        sealedRefreshToken: this.personalData.seal(keep, sealContext({ issuer, subject })),
      }),
      ...(unread.length > 0 && { unread }),
    };
  }

  /** With the `snils` scope: only the keyed digest (to match an invitation's SNILS), never the number. */
  private snils(value: unknown): { snilsDigest?: string } {
    if (!this.config.gosuslugi.scopes.split(' ').includes('snils') || typeof value !== 'string')
      return {};
    const digest = this.personalData.snilsDigest(value);
    return digest ? { snilsDigest: digest } : {};
  }

  private async optional<T>(
    read: Promise<T>,
    what: string,
  ): Promise<{ value: T | undefined; failed: boolean }> {
    try {
      return { value: await read, failed: false };
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.logger.warn(
        { err: error.cause, code: error.code },
        `ЕСИА ${what} not read: ${error.code}`,
      );
      return { value: undefined, failed: true };
    }
  }

  /**
   * A request to /v3/te: a code with its PKCE verifier (signed text + code; the verifier is not
   * signed) or a refresh token (signed text alone), with a fresh UUID state that ЕСИА echoes.
   */
  private async tokenRequest(
    { certificateHash: hash, signer }: Material,
    grant:
      | { grant_type: 'authorization_code'; code: string; code_verifier: string }
      | { grant_type: 'refresh_token'; refresh_token: string },
  ): Promise<{ id_token?: string; access_token: string; refresh_token?: string }> {
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

  private async verify(
    token: string,
    certificates: LoadedCertificate[],
    what: string,
  ): Promise<Record<string, unknown>> {
    try {
      return await verifyEsiaJwt(token, certificates);
    } catch (error) {
      if (error instanceof TokenRejected)
        throw new ProviderError('rejected', `${what}_${error.reason.split(' ')[0]}`, {
          cause: error,
        });
      throw error;
    }
  }

  private checkTimes(claims: Record<string, unknown>, what: string): void {
    const now = Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp + CLOCK_TOLERANCE_S < now)
      throw new ProviderError('rejected', `${what}_expired`);
    if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_TOLERANCE_S > now)
      throw new ProviderError('rejected', `${what}_not_yet_valid`);
  }

  /**
   * iss exact, aud the client, times, the oid subject, and the nonce: a nonce that is present must
   * be this transaction's; its absence is refused only with GOSUSLUGI_ESIA_NONCE=required, since
   * ЕСИА has not returned it since November 2022 (docs/esia.md › «PKCE and nonce»).
   */
  private checkIdToken(claims: Record<string, unknown>, request: AuthorizationRequest): string {
    if (claims.iss !== this.config.gosuslugi.issuer)
      throw new ProviderError('rejected', 'id_token_issuer');
    const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audience.includes(this.config.gosuslugi.clientId))
      throw new ProviderError('rejected', 'id_token_audience');
    this.checkTimes(claims, 'id_token');
    const sub = claims.sub;
    if ((typeof sub !== 'number' && typeof sub !== 'string') || !/^\d{1,20}$/.test(String(sub))) {
      throw new ProviderError('rejected', 'id_token_subject');
    }
    const sbj = claims['urn:esia:sbj'] as { oid?: unknown } | undefined;
    const oid = sbj?.oid;
    const sameOid =
      (typeof oid === 'number' || typeof oid === 'string') && String(oid) === String(sub);
    if (oid !== undefined && !sameOid) throw new ProviderError('rejected', 'id_token_subject');
    if (claims.nonce !== undefined || this.esia.nonce === 'required') {
      if (typeof claims.nonce !== 'string' || !sameSecret(claims.nonce, request.nonce))
        throw new ProviderError('rejected', 'id_token_nonce');
    }
    assertFreshAuthentication(request, claims.auth_time, false);
    return String(sub);
  }

  /** GET of an ЕСИА REST resource about the person, with the access token. */
  private async resource(
    path: string,
    accessToken: string,
    what: string,
  ): Promise<Record<string, unknown>> {
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

  private personPath(oid: string, suffix = ''): string {
    return this.esia.preset.personPath.replace('{oid}', encodeURIComponent(oid)) + suffix;
  }

  private async person(oid: string, accessToken: string): Promise<Record<string, unknown>> {
    const record = await this.resource(this.personPath(oid), accessToken, 'person');
    const recordOid = record.oid;
    if (
      recordOid !== undefined &&
      !(
        (typeof recordOid === 'number' || typeof recordOid === 'string') &&
        String(recordOid) === oid
      )
    )
      throw new ProviderError('rejected', 'person_record_subject');
    return record;
  }

  /** `ctts?embed=(elements)`: the e-mail (EML) and mobile (MBT) ЕСИА marks VERIFIED, nothing else. */
  private async verifiedContacts(
    oid: string,
    accessToken: string,
  ): Promise<{ email?: string; mobile?: string }> {
    const collection = await this.resource(
      this.personPath(oid, '/ctts?embed=(elements)'),
      accessToken,
      'contacts',
    );
    const verified = (type: string) => {
      const elements = Array.isArray(collection.elements) ? (collection.elements as unknown[]) : [];
      const found = elements.find(
        (element): element is { value: string } =>
          typeof element === 'object' &&
          element !== null &&
          (element as Record<string, unknown>).type === type &&
          (element as Record<string, unknown>).vrfStu === 'VERIFIED' &&
          typeof (element as Record<string, unknown>).value === 'string' &&
          ((element as Record<string, unknown>).value as string).length <= 254,
      );
      return found?.value;
    };
    const email = verified('EML');
    const mobile = verified('MBT');
    return { ...(email && { email }), ...(mobile && { mobile }) };
  }

  /** `roles`: the organisations the person acts for (scope usr_org). */
  private async organizations(oid: string, accessToken: string): Promise<IdentityOrganization[]> {
    const collection = await this.resource(this.personPath(oid, '/roles'), accessToken, 'roles');
    const elements = Array.isArray(collection.elements) ? (collection.elements as unknown[]) : [];
    return elements.flatMap((element): IdentityOrganization[] => {
      if (typeof element !== 'object' || element === null) return [];
      const org = element as Record<string, unknown>;
      const name = [org.shortName, org.fullName].find(
        (value): value is string => typeof value === 'string' && value.length > 0,
      );
      if ((typeof org.oid !== 'number' && typeof org.oid !== 'string') || !name) return [];
      return [
        {
          oid: String(org.oid),
          name: name.slice(0, 300),
          ...(typeof org.ogrn === 'string' && { ogrn: org.ogrn }),
          ...(typeof org.chief === 'boolean' && { chief: org.chief }),
          ...(typeof org.admin === 'boolean' && { admin: org.admin }),
        },
      ];
    });
  }

  /** The access token must be ЕСИА's, for this system, about the same person, and current. */
  private checkAccessToken(claims: Record<string, unknown>, subject: string): void {
    if (claims.iss !== this.config.gosuslugi.issuer)
      throw new ProviderError('rejected', 'access_token_issuer');
    // ЕСИА's access token names the system as `client_id`; a token for another system is refused.
    if (claims.client_id !== this.config.gosuslugi.clientId)
      throw new ProviderError('rejected', 'access_token_client');
    const sbj = claims['urn:esia:sbj_id'];
    if ((typeof sbj !== 'number' && typeof sbj !== 'string') || String(sbj) !== subject) {
      throw new ProviderError('rejected', 'access_token_subject');
    }
    this.checkTimes(claims, 'access_token');
  }

  /** An error ЕСИА answered (redirect or token response), by its catalogue entry. */
  private providerError(error: string, description: string | null): ProviderError {
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
