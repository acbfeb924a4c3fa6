import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import express, { type Request, type Response, type Router } from 'express';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { AppConfig, DEV_STAND_IN } from '../config/app-config.js';
import { certificateHash } from '../gosuslugi/esia/certificates.js';
import { clientSecretText, parseEsiaTimestamp, UUID_V4 } from '../gosuslugi/esia/esia-format.js';
import { gostSign, gostVerify } from '../gosuslugi/esia/gost.js';
import { verifyEsiaJwt } from '../gosuslugi/esia/token-verifier.js';
import { PageRenderer } from '../web/page-renderer.js';
import { ensureEsiaDevMaterial, type EsiaDevMaterial } from './esia-dev-material.js';
import { findTestPerson, TEST_PERSONS } from './test-persons.js';

const TIMESTAMP_SKEW_MS = 5 * 60_000;
const CODE_TTL_MS = 60_000;

interface SignedRequest {
  client_id?: string;
  client_secret?: string;
  client_certificate_hash?: string;
  timestamp?: string;
  state?: string;
  redirect_uri?: string;
  scope?: string;
}

export type EsiaStandInFault =
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'oid_mismatch'
  | 'wrong_nonce'
  | 'access_token_other_subject'
  | 'access_token_wrong_issuer'
  | 'state_mismatch';

interface Pending {
  scope: string;
  state: string;
  nonce?: string;
  expiresAt: number;
}

interface IssuedCode extends Pending {
  oid: number;
}

const ERRORS: Record<string, string> = {
  'ESIA-007002': 'state must be a UUID, and the token request must carry a new one',
  'ESIA-007004': 'unknown, used or expired authorization code',
  'ESIA-007005': 'unknown client',
  'ESIA-007014': 'client_certificate_hash is missing',
  'ESIA-007015': 'timestamp is malformed or too far from now',
  'ESIA-007023': 'redirect_uri is not registered for the client',
  'ESIA-007053': 'client_secret does not verify, or the certificate hash is not the registered one',
};

/**
 * «ЕСИА (тестовый стенд)»: the ЕСИА-shaped mode of the development stand-in, at /dev/esia. It
 * checks what ЕСИА checks — the GOST signature of client_secret over the documented text, the
 * timestamp format, the certificate hash, a fresh UUID state on the token request — and signs
 * its tokens the ЕСИА way (RS256 or GOST3410_2012_256, no nonce unless asked). Never in production.
 */
@Injectable()
export class EsiaStandIn implements OnModuleInit {
  private readonly logger = new Logger('EsiaStandIn');
  readonly router: Router = express.Router();
  private material!: EsiaDevMaterial;
  private readonly pending = new Map<string, Pending>();
  private readonly codes = new Map<string, IssuedCode>();
  private unregisteredKey: KeyObject | null = null;

  /** How the next tokens are signed; `unregistered` uses a key no configured certificate holds. */
  tokenSigning: 'RS256' | 'GOST3410_2012_256' | 'unregistered' = 'RS256';
  /** Real ЕСИА was not seen returning the nonce; the stand-in can, to test `required`. */
  echoNonce = false;
  /** Makes the next token response wrong in one way (negative tests of the relying party). */
  private nextFault: EsiaStandInFault | null = null;

  injectFault(fault: EsiaStandInFault): void {
    this.nextFault = fault;
  }

  constructor(
    private readonly config: AppConfig,
    private readonly pages: PageRenderer,
  ) {}

  async onModuleInit(): Promise<void> {
    this.material = await ensureEsiaDevMaterial(this.config.dataDir);
    const form = express.urlencoded({ extended: false, limit: '16kb' });
    this.router.get('/aas/oauth2/v2/ac', (req, res) => this.authorize(req, res));
    this.router.post('/aas/oauth2/v2/ac/:request/pick', form, (req, res) => this.pick(req, res));
    this.router.post('/aas/oauth2/v3/te', form, (req, res, next) =>
      this.token(req, res).catch(next),
    );
    this.router.get('/rs/prns/:oid', (req, res, next) => this.person(req, res).catch(next));
    this.logger.warn(
      `development ЕСИА stand-in (not real) at ${this.config.gosuslugi.esia?.preset.baseUrl}`,
    );
  }

  private get issuer(): string {
    return `${this.config.publicUrl}${DEV_STAND_IN.esiaPath}/`;
  }

  /** The checks ЕСИА makes of a signed request; returns the error code or null. */
  private check(params: SignedRequest, code?: string): string | null {
    if (params.client_id !== DEV_STAND_IN.clientId) return 'ESIA-007005';
    if (params.redirect_uri !== this.config.gosuslugi.redirectUri) return 'ESIA-007023';
    if (!params.client_certificate_hash) return 'ESIA-007014';
    // Hex case is not significant; any UTC offset is read as the instant it names.
    if (
      params.client_certificate_hash.toUpperCase() !==
      certificateHash(this.material.systemCertificate)
    )
      return 'ESIA-007053';
    const timestamp = params.timestamp ?? '';
    const instant = parseEsiaTimestamp(timestamp);
    if (!instant || Math.abs(Date.now() - instant.getTime()) > TIMESTAMP_SKEW_MS) {
      return 'ESIA-007015';
    }
    if (!params.state || !UUID_V4.test(params.state)) return 'ESIA-007002';
    const text = clientSecretText({
      clientId: params.client_id,
      scope: params.scope ?? '',
      timestamp,
      state: params.state,
      redirectUri: params.redirect_uri,
      code,
    });
    const signature = Buffer.from(params.client_secret ?? '', 'base64url');
    const key = this.material.systemCertificate.key;
    if (
      key.kind !== 'gost2012-256' ||
      !gostVerify(key.publicKey, Buffer.from(text, 'utf8'), signature)
    )
      return 'ESIA-007053';
    return null;
  }

  private describe(code: string): string {
    return `${code}: ${ERRORS[code] ?? 'error'}`;
  }

  private authorize(req: Request, res: Response): void {
    const params = req.query as Record<string, string | undefined>;
    const error = this.check(params);
    if (error === 'ESIA-007005' || error === 'ESIA-007023') {
      // Nowhere safe to send the browser back to.
      this.pages.send(res, 400, 'message', {
        title: 'ЕСИА (тестовый стенд): ошибка',
        paragraphs: [this.describe(error)],
        code: error,
      });
      return;
    }
    const back = new URL(String(params.redirect_uri));
    if (error) {
      back.search = new URLSearchParams({
        error: 'invalid_request',
        error_description: this.describe(error),
        state: params.state ?? '',
      }).toString();
      res.redirect(302, back.href);
      return;
    }
    const request = randomBytes(16).toString('base64url');
    this.pending.set(request, {
      scope: String(params.scope),
      state: String(params.state),
      nonce: params.nonce,
      expiresAt: Date.now() + 10 * 60_000,
    });
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(
      this.pages.render('dev-gosuslugi-login', {
        title: 'ЕСИА (тестовый стенд)',
        persons: TEST_PERSONS,
        clientId: String(params.client_id),
        scope: String(params.scope),
        action: `${DEV_STAND_IN.esiaPath}/aas/oauth2/v2/ac/${request}/pick`,
        cancelAction: `${DEV_STAND_IN.esiaPath}/aas/oauth2/v2/ac/${request}/pick`,
      }),
    );
  }

  private pick(req: Request, res: Response): void {
    const pending = this.pending.get(String(req.params.request));
    this.pending.delete(String(req.params.request));
    const back = new URL(this.config.gosuslugi.redirectUri);
    const oid = (req.body as Record<string, unknown>).oid;
    const person = typeof oid === 'string' ? findTestPerson(oid) : undefined;
    if (!pending || pending.expiresAt < Date.now()) {
      this.pages.send(res, 400, 'message', {
        title: 'ЕСИА (тестовый стенд): запрос устарел',
        paragraphs: ['Начните вход заново.'],
      });
      return;
    }
    if (!person) {
      back.search = new URLSearchParams({
        error: 'access_denied',
        error_description: 'Пользователь отказался от входа',
        state: pending.state,
      }).toString();
      res.redirect(302, back.href);
      return;
    }
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, { ...pending, oid: person.oid, expiresAt: Date.now() + CODE_TTL_MS });
    back.search = new URLSearchParams({ code, state: pending.state }).toString();
    res.redirect(302, back.href);
  }

  private async token(req: Request, res: Response): Promise<void> {
    const params = req.body as Record<string, string | undefined>;
    const fail = (code: string) =>
      res.status(400).json({ error: 'invalid_request', error_description: this.describe(code) });
    const issued = params.code ? this.codes.get(params.code) : undefined;
    if (params.code) this.codes.delete(params.code);
    const error = this.check(params, params.code);
    if (error) return void fail(error);
    if (
      !issued ||
      issued.expiresAt < Date.now() ||
      params.grant_type !== 'authorization_code' ||
      params.scope !== issued.scope
    ) {
      return void fail('ESIA-007004');
    }
    if (params.state === issued.state) return void fail('ESIA-007002');

    const fault = this.nextFault;
    this.nextFault = null;
    const now = Math.floor(Date.now() / 1000);
    const person = findTestPerson(issued.oid)!;
    const oid = person.oid;
    const idToken = await this.sign({
      iss: fault === 'wrong_issuer' ? 'http://evil.example/' : this.issuer,
      aud: fault === 'wrong_audience' ? 'SOMEONE_ELSE' : DEV_STAND_IN.clientId,
      sub: oid,
      nbf: now,
      iat: fault === 'expired' ? now - 7200 : now,
      exp: fault === 'expired' ? now - 3600 : now + 3600,
      auth_time: now,
      amr: 'PWD',
      'urn:esia:amd': 'PWD',
      'urn:esia:sbj': {
        typ: 'P',
        oid: fault === 'oid_mismatch' ? oid + 1 : oid,
        nam: `OID.${oid}`,
        'urn:esia:sbj:is_tru': person.trusted,
      },
      ...(this.echoNonce && issued.nonce ? { nonce: issued.nonce } : {}),
      ...(fault === 'wrong_nonce' ? { nonce: 'not-the-nonce' } : {}),
    });
    const accessToken = await this.sign({
      iss: fault === 'access_token_wrong_issuer' ? 'http://evil.example/' : this.issuer,
      'urn:esia:sbj_id': fault === 'access_token_other_subject' ? oid + 1 : oid,
      'urn:esia:client_id': DEV_STAND_IN.clientId,
      scope: issued.scope,
      nbf: now,
      iat: now,
      exp: now + 3600,
    });
    // ЕСИА echoes the token request's state; a faulty echo returns the authorization's instead.
    const state = fault === 'state_mismatch' ? issued.state : params.state;
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      id_token: idToken,
      access_token: accessToken,
      state,
      token_type: 'Bearer',
      expires_in: 3600,
    });
  }

  private async sign(claims: Record<string, unknown>): Promise<string> {
    if (this.tokenSigning === 'GOST3410_2012_256') {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const signed = `${encode({ alg: 'GOST3410_2012_256', typ: 'JWT', ver: 1 })}.${encode(claims)}`;
      return `${signed}.${gostSign(this.material.gostKey, Buffer.from(signed, 'ascii')).toString('base64url')}`;
    }
    const key =
      this.tokenSigning === 'unregistered'
        ? (this.unregisteredKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)
        : this.material.rsaKey;
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'JWT', ver: 1 }).sign(key);
  }

  private async person(req: Request, res: Response): Promise<void> {
    const token = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
    const claims = token
      ? await verifyEsiaJwt(token, this.material.tokenCertificates).catch(() => null)
      : null;
    const person = findTestPerson(String(req.params.oid));
    if (!claims || !person || String(claims['urn:esia:sbj_id']) !== String(person.oid)) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    res.json({
      oid: person.oid,
      firstName: person.firstName,
      lastName: person.lastName,
      middleName: person.middleName,
      trusted: person.trusted,
      updatedOn: Math.floor(Date.now() / 1000),
    });
  }
}
