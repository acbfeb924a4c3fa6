import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { type AppConfig } from '../config/app-config.js';
import { DEV_STAND_IN } from '../config/gosuslugi.config.js';
import { gostSign } from '../gosuslugi/esia/gost.js';
import { type EsiaDevMaterial } from './esia-dev-material.js';
import { findTestPerson } from './test-persons.js';

const CODE_TTL_MS = 60_000;

export type EsiaStandInFault =
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'oid_mismatch'
  | 'wrong_nonce'
  | 'access_token_other_subject'
  | 'access_token_wrong_issuer'
  | 'access_token_other_client'
  | 'state_mismatch'
  | 'contacts_unavailable'
  | 'person_unavailable';

/** How tokens are signed; `unregistered` uses a key no configured certificate holds. */
export type StandInTokenSigning = 'RS256' | 'GOST3410_2012_256' | 'unregistered';

export interface Pending {
  scope: string;
  state: string;
  nonce?: string;
  /** The authorization's PKCE S256 challenge: the code is redeemed only with its verifier. */
  codeChallenge?: string;
  accessType: string;
  expiresAt: number;
}

export interface IssuedCode extends Pending {
  oid: number;
  /** When the person logged in to the stand-in (seconds), whichever round trip this code ends. */
  authTime: number;
}

interface Grant {
  oid: number;
  scope: string;
  authTime: number;
  expiresAt: number;
}

/** A code's record rather than a refresh token's: only codes keep their authorization's state. */
export const isCode = (issued: IssuedCode | Grant): issued is IssuedCode => 'state' in issued;

/**
 * The stand-in's codes, refresh tokens and signed tokens, the ЕСИА way: ID and access tokens
 * signed RS256 or GOST3410_2012_256, the access token naming the client as `client_id`, no nonce
 * unless asked, and a response made wrong in one way on request (negative tests).
 */
export class StandInTokens {
  private readonly codes = new Map<string, IssuedCode>();
  private readonly refreshTokens = new Map<string, Grant>();
  private unregisteredKey: KeyObject | null = null;

  constructor(
    private readonly config: AppConfig,
    private readonly material: EsiaDevMaterial,
  ) {}

  private get issuer(): string {
    return `${this.config.publicUrl}${DEV_STAND_IN.esiaPath}/`;
  }

  issueCode(pending: Pending, oid: number, authTime: number): string {
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, { ...pending, oid, authTime, expiresAt: Date.now() + CODE_TTL_MS });
    return code;
  }

  /** Single use, whatever the outcome: a code or refresh token is gone once presented. */
  take(
    params: { code?: string; refresh_token?: string },
    refresh: boolean,
  ): IssuedCode | Grant | null {
    const issued = refresh
      ? params.refresh_token && this.refreshTokens.get(params.refresh_token)
      : params.code && this.codes.get(params.code);
    if (params.code) this.codes.delete(params.code);
    if (params.refresh_token) this.refreshTokens.delete(params.refresh_token);
    return issued || null;
  }

  /** The token response for a redeemed code or refresh token, `state` the token request's. */
  async response(
    issued: IssuedCode | Grant,
    state: string | undefined,
    options: {
      fault: EsiaStandInFault | null;
      refresh: boolean;
      signing: StandInTokenSigning;
      echoNonce: boolean;
    },
  ): Promise<Record<string, unknown>> {
    const { fault, refresh, signing } = options;
    const now = Math.floor(Date.now() / 1000);
    const person = findTestPerson(issued.oid)!;
    const oid = person.oid;
    const idToken = await this.sign(signing, {
      iss: fault === 'wrong_issuer' ? 'http://evil.example/' : this.issuer,
      aud: fault === 'wrong_audience' ? 'SOMEONE_ELSE' : DEV_STAND_IN.clientId,
      sub: oid,
      nbf: now,
      iat: fault === 'expired' ? now - 7200 : now,
      exp: fault === 'expired' ? now - 3600 : now + 3600,
      auth_time: issued.authTime,
      amr: 'PWD',
      'urn:esia:amd': 'PWD',
      'urn:esia:sbj': {
        typ: 'P',
        oid: fault === 'oid_mismatch' ? oid + 1 : oid,
        nam: `OID.${oid}`,
        'urn:esia:sbj:is_tru': person.trusted,
      },
      ...(options.echoNonce && 'nonce' in issued && issued.nonce ? { nonce: issued.nonce } : {}),
      ...(fault === 'wrong_nonce' ? { nonce: 'not-the-nonce' } : {}),
    });
    const accessToken = await this.sign(signing, {
      iss: fault === 'access_token_wrong_issuer' ? 'http://evil.example/' : this.issuer,
      'urn:esia:sbj_id': fault === 'access_token_other_subject' ? oid + 1 : oid,
      client_id: fault === 'access_token_other_client' ? 'SOMEONE_ELSE' : DEV_STAND_IN.clientId,
      scope: issued.scope,
      nbf: now,
      iat: now,
      exp: now + 3600,
    });
    const offline = refresh || ('accessType' in issued && issued.accessType === 'offline');
    const refreshToken = offline ? randomBytes(24).toString('base64url') : undefined;
    if (refreshToken)
      this.refreshTokens.set(refreshToken, {
        oid,
        scope: issued.scope,
        authTime: issued.authTime,
        expiresAt: Date.now() + 24 * 3600_000,
      });
    return {
      id_token: idToken,
      access_token: accessToken,
      ...(refreshToken && { refresh_token: refreshToken }),
      // ЕСИА echoes the token request's state; a faulty echo returns the authorization's instead.
      state: fault === 'state_mismatch' && 'state' in issued ? issued.state : state,
      token_type: 'Bearer',
      expires_in: 3600,
    };
  }

  private async sign(
    signing: StandInTokenSigning,
    claims: Record<string, unknown>,
  ): Promise<string> {
    if (signing === 'GOST3410_2012_256') {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const signed = `${encode({ alg: 'GOST3410_2012_256', typ: 'JWT', ver: 1 })}.${encode(claims)}`;
      return `${signed}.${gostSign(this.material.gostKey, Buffer.from(signed, 'ascii')).toString('base64url')}`;
    }
    const key =
      signing === 'unregistered'
        ? (this.unregisteredKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)
        : this.material.rsaKey;
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', ver: 1 }).sign(key);
  }
}
