import { Inject, Injectable, Logger, type OnModuleInit, Optional } from '@nestjs/common';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  importPKCS8,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type KeyObject,
} from 'jose';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config.js';
import { type Session } from './session.entity.js';
import { amrOf } from './second-factor-rules.js';
import { ACCESS_TOKEN_CLAIMS, type AccessTokenClaimsSource } from './token-claims.js';

type SigningAlgorithm = 'ES256' | 'EdDSA';
const ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'EdDSA'];
/** RFC 9068 media type: keeps access tokens from being confused with ID tokens. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  sid: string;
  amr: string[];
}

interface SigningKey {
  alg: SigningAlgorithm;
  kid: string;
  privateKey: CryptoKey | KeyObject;
  publicJwk: JWK;
  /** For the OpenID Provider, which signs ID tokens with the same key (oidc-provider wants a JWK). */
  privateJwk: JWK;
}

function algorithmOfJwk(jwk: JWK): SigningAlgorithm {
  if (jwk.alg && ALGORITHMS.includes(jwk.alg as SigningAlgorithm))
    return jwk.alg as SigningAlgorithm;
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  throw new Error('TOKEN_SIGNING_KEY must be an EC P-256 (ES256) or Ed25519 (EdDSA) private key');
}

/**
 * Signs short-lived access tokens (JWT, asymmetric) and publishes the public key as a JWKS so
 * downstream services verify offline. The key comes from TOKEN_SIGNING_KEY (PEM or JWK); in
 * development it is generated once and kept under DATA_DIR.
 */
@Injectable()
export class TokenService implements OnModuleInit {
  private readonly logger = new Logger(TokenService.name);
  private key!: SigningKey;
  /** Retired keys: published and accepted, never used to sign. */
  private previous: JWK[] = [];
  private keySet!: ReturnType<typeof createLocalJWKSet>;

  constructor(
    private readonly config: AppConfig,
    @Optional()
    @Inject(ACCESS_TOKEN_CLAIMS)
    private readonly claimsSource?: AccessTokenClaimsSource,
  ) {}

  async onModuleInit(): Promise<void> {
    const privateJwk = this.config.tokenSigningKey
      ? await this.parseConfiguredKey(this.config.tokenSigningKey)
      : await this.developmentKey();
    const alg = algorithmOfJwk(privateJwk);
    const { d: _private, ...publicPart } = privateJwk;
    const publicJwk: JWK = {
      kty: publicPart.kty,
      crv: publicPart.crv,
      x: publicPart.x,
      ...(publicPart.y && { y: publicPart.y }),
    };
    const kid = await calculateJwkThumbprint(publicJwk);
    Object.assign(publicJwk, { kid, alg, use: 'sig' });
    this.key = {
      alg,
      kid,
      publicJwk,
      privateJwk: { ...publicJwk, d: privateJwk.d },
      privateKey: (await importJWK(privateJwk, alg)) as CryptoKey | KeyObject,
    };
    for (const retired of this.config.tokenPreviousKeys) {
      const jwk = retired as JWK;
      const publicJwk: JWK = {
        kty: jwk.kty,
        crv: jwk.crv,
        x: jwk.x,
        ...(jwk.y && { y: jwk.y }),
      };
      const previousAlg = algorithmOfJwk(publicJwk);
      Object.assign(publicJwk, {
        kid: await calculateJwkThumbprint(publicJwk),
        alg: previousAlg,
        use: 'sig',
      });
      if (publicJwk.kid !== kid) this.previous.push(publicJwk);
    }
    this.keySet = createLocalJWKSet(this.jwks());
  }

  private async parseConfiguredKey(text: string): Promise<JWK> {
    const trimmed = text.trim();
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as JWK;
      if (!jwk.d) throw new Error('TOKEN_SIGNING_KEY JWK must be a private key');
      return jwk;
    }
    const pem = trimmed.replace(/\\n/g, '\n');
    for (const alg of ALGORITHMS) {
      try {
        return await exportJWK(await importPKCS8(pem, alg, { extractable: true }));
      } catch {
        // try the next algorithm
      }
    }
    throw new Error(
      'TOKEN_SIGNING_KEY must be a PKCS#8 PEM of an EC P-256 or Ed25519 private key, or a JWK',
    );
  }

  private async developmentKey(): Promise<JWK> {
    const file = join(this.config.dataDir, 'token-signing-key.jwk.json');
    if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as JWK;
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256' };
    await mkdir(this.config.dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(jwk), { mode: 0o600 });
    this.logger.warn(`generated a development token signing key in ${file}`);
    return jwk;
  }

  /**
   * The current signing key as a private JWK (same `kid` and `alg` as the JWKS): the OpenID
   * Provider signs ID tokens with it, so one key set verifies access and ID tokens alike.
   */
  signingJwk(): JWK {
    return { ...this.key.privateJwk };
  }

  jwks(): JSONWebKeySet {
    return { keys: [this.key.publicJwk, ...this.previous] };
  }

  /**
   * Whether `requested` may be a token's audience: this service's own or one of the configured
   * downstream applications. Anything else is refused rather than minted for a name nobody checks.
   */
  isIssuableAudience(requested: string): boolean {
    const { audience, downstreamAudiences } = this.config.accessToken;
    return requested === audience || downstreamAudiences.includes(requested);
  }

  /**
   * An access token for a live session, with the claims other features contribute; for this
   * service unless a downstream audience (already checked by the caller) is given. `claims`: the
   * contributed claims when the caller has just read them (the password login), else read here.
   */
  async issueForSession(
    session: Session,
    audience?: string,
    claims?: Record<string, unknown>,
  ): Promise<{ token: string; expiresIn: number }> {
    if (audience !== undefined && !this.isIssuableAudience(audience))
      throw new Error(`audience ${audience} is not configured`);
    const extra =
      claims ?? (this.claimsSource ? await this.claimsSource.claimsFor(session.user) : {});
    return this.issue({
      sub: session.user.id,
      sid: session.id,
      amr: amrOf(session),
      extra,
      audience,
    });
  }

  async issue(claims: {
    sub: string;
    sid: string;
    amr: string[];
    extra?: Record<string, unknown>;
    audience?: string;
  }): Promise<{ token: string; expiresIn: number }> {
    const expiresIn = Math.floor(this.config.accessToken.ttlMs / 1000);
    // Registered claims are set last and cannot be overridden by contributed ones.
    const token = await new SignJWT({ ...claims.extra, sid: claims.sid, amr: claims.amr })
      .setProtectedHeader({ alg: this.key.alg, kid: this.key.kid, typ: ACCESS_TOKEN_TYPE })
      .setIssuer(this.config.accessToken.issuer)
      .setAudience(claims.audience ?? this.config.accessToken.audience)
      .setSubject(claims.sub)
      .setIssuedAt()
      .setExpirationTime(`${expiresIn}s`)
      .setJti(randomUUID())
      .sign(this.key.privateKey);
    return { token, expiresIn };
  }

  /**
   * Verifies signature, algorithm, type, issuer, audience and expiry; throws on any mismatch. Only
   * this service's own audience passes: tokens minted for downstream applications do not.
   */
  async verify(token: string): Promise<AccessTokenClaims> {
    const { payload } = await jwtVerify(token, this.keySet, {
      algorithms: [...new Set([this.key.alg, ...this.previous.map((k) => k.alg as string)])],
      issuer: this.config.accessToken.issuer,
      audience: this.config.accessToken.audience,
      typ: ACCESS_TOKEN_TYPE,
      requiredClaims: ['sub', 'sid', 'exp', 'iat'],
    });
    if (typeof payload.sid !== 'string' || !Array.isArray(payload.amr))
      throw new Error('access token lacks sid or amr');
    return payload as AccessTokenClaims;
  }
}
