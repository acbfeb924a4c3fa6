import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import express, { type Request, type Response, type Router } from 'express';
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { sameSecret } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { DEV_STAND_IN } from '../config/gosuslugi.config.js';
import { certificateHash } from '../gosuslugi/esia/certificates.js';
import { ESIA_ERRORS } from '../gosuslugi/esia/esia-errors.js';
import { clientSecretText, parseEsiaTimestamp, UUID_V4 } from '../gosuslugi/esia/esia-format.js';
import { gostSign, gostVerify } from '../gosuslugi/esia/gost.js';
import { verifyEsiaJwt } from '../gosuslugi/esia/token-verifier.js';
import { CONTINUE_PATH, LOGGED_OUT_PATH } from '../gosuslugi/provider-client.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { ensureEsiaDevMaterial, type EsiaDevMaterial } from './esia-dev-material.js';
import { findTestPerson, TEST_PERSONS, type TestPerson } from './test-persons.js';

const TIMESTAMP_SKEW_MS = 5 * 60_000;
const CODE_TTL_MS = 60_000;
const SESSION_TTL_MS = 60 * 60_000;
const SESSION_COOKIE = 'esia_stand_in_session';
/** The scopes «approved in ЕСИА» for the development system; anything else is ESIA-007006. */
export const STAND_IN_APPROVED_SCOPES = [
  'openid',
  'fullname',
  'birthdate',
  'gender',
  'snils',
  'contacts',
  'email',
  'mobile',
  'usr_org',
];

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
  | 'access_token_other_client'
  | 'state_mismatch'
  | 'contacts_unavailable'
  | 'person_unavailable';

interface Pending {
  scope: string;
  state: string;
  nonce?: string;
  /** The authorization's PKCE S256 challenge: the code is redeemed only with its verifier. */
  codeChallenge?: string;
  accessType: string;
  expiresAt: number;
}

/** RFC 7636's S256 challenge: base64url of the verifier's SHA-256, 43 characters. */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

interface IssuedCode extends Pending {
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
const isCode = (issued: IssuedCode | Grant): issued is IssuedCode => 'state' in issued;

/**
 * «ЕСИА (тестовый стенд)»: the ЕСИА-shaped mode of the development stand-in, at /dev/esia. It
 * checks what ЕСИА checks — the GOST signature of client_secret over the documented text, the
 * timestamp format, the certificate hash, a fresh UUID state on the token request, the PKCE
 * verifier of a code whose authorization carried a challenge (ESIA-007039, ESIA-007040) — and
 * signs its tokens the ЕСИА way (RS256 or GOST3410_2012_256, no nonce unless asked). Never in
 * production.
 */
@Injectable()
export class EsiaStandIn implements OnModuleInit {
  private readonly logger = new Logger('EsiaStandIn');
  readonly router: Router = express.Router();
  private material!: EsiaDevMaterial;
  private readonly pending = new Map<string, Pending>();
  private readonly codes = new Map<string, IssuedCode>();
  /** The stand-in's own single sign-on: who is logged in to «ЕСИА» in which browser. */
  private readonly sessions = new Map<
    string,
    { oid: number; authTime: number; expiresAt: number }
  >();
  private readonly refreshTokens = new Map<string, Grant>();
  private unregisteredKey: KeyObject | null = null;
  /** Hashes of certificates registered in the stand-in to systems other than ours. */
  private otherSystemsCertificates: string[] = [];
  /** The next authorization (or, with `token`, token request) answers with this ЕСИА error. */
  private nextError: { code: string; at: 'authorize' | 'token' } | null = null;

  /** How the next tokens are signed; `unregistered` uses a key no configured certificate holds. */
  tokenSigning: 'RS256' | 'GOST3410_2012_256' | 'unregistered' = 'RS256';
  /** Real ЕСИА was not seen returning the nonce; the stand-in can, to test `required`. */
  echoNonce = false;
  /** Makes the next token response wrong in one way (negative tests of the relying party). */
  private nextFault: EsiaStandInFault | null = null;

  injectFault(fault: EsiaStandInFault): void {
    this.nextFault = fault;
  }

  /** Makes every open stand-in session look as if the person logged in `seconds` earlier. */
  ageSessions(seconds: number): void {
    for (const session of this.sessions.values()) session.authTime -= seconds;
  }

  /** The next authorization redirects back with (or the next token request answers) this ESIA code. */
  injectError(code: string, at: 'authorize' | 'token' = 'authorize'): void {
    this.nextError = { code, at };
  }

  constructor(
    private readonly config: AppConfig,
    private readonly pages: PageRenderer,
  ) {}

  async onModuleInit(): Promise<void> {
    this.material = await ensureEsiaDevMaterial(this.config.dataDir);
    // The stand-in's own GOST certificate plays «another system's» registered certificate.
    this.otherSystemsCertificates = this.material.tokenCertificates
      .filter((certificate) => certificate.key.kind === 'gost2012-256')
      .map(certificateHash);
    const form = express.urlencoded({ extended: false, limit: '16kb' });
    this.router.get('/aas/oauth2/v2/ac', (req, res) => this.authorize(req, res));
    this.router.post('/aas/oauth2/v2/ac/:request/pick', form, (req, res) => this.pick(req, res));
    this.router.post('/aas/oauth2/v3/te', form, (req, res, next) =>
      this.token(req, res).catch(next),
    );
    this.router.get('/rs/prns/:oid', (req, res, next) => this.person(req, res).catch(next));
    this.router.get('/rs/prns/:oid/:collection', (req, res, next) =>
      this.collection(req, res).catch(next),
    );
    this.router.get('/idp/ext/Logout', (req, res) => this.logout(req, res));
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
    // Hex case is not significant. A certificate ЕСИА knows, but registered to another system, is a
    // mismatch of certificate and mnemonic (007002); a hash of nothing registered (the PEM text's,
    // ESIA.md) cannot match the signature's certificate (007053).
    const hash = params.client_certificate_hash.toUpperCase();
    if (this.otherSystemsCertificates.includes(hash)) return 'ESIA-007002';
    if (hash !== certificateHash(this.material.systemCertificate)) return 'ESIA-007053';
    const timestamp = params.timestamp ?? '';
    const instant = parseEsiaTimestamp(timestamp);
    if (!instant || Math.abs(Date.now() - instant.getTime()) > TIMESTAMP_SKEW_MS) {
      return 'ESIA-007015';
    }
    if (!params.state || !UUID_V4.test(params.state)) return 'ESIA-007003';
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

  /** Descriptions in the form ЕСИА gives them: the code first, then the words. */
  private describe(code: string): string {
    return `${code}: ${ESIA_ERRORS[code]?.message ?? 'Ошибка'}`;
  }

  private authorize(req: Request, res: Response): void {
    const params = req.query as Record<string, string | undefined>;
    const error = this.check(params) ?? this.checkAuthorization(params);
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
    const injected = this.nextError?.at === 'authorize' ? this.nextError.code : null;
    if (injected) this.nextError = null;
    if (error ?? injected) {
      const code = (error ?? injected)!;
      back.search = new URLSearchParams({
        error: code === 'ESIA-007004' ? 'access_denied' : 'invalid_request',
        error_description: this.describe(code),
        state: params.state ?? '',
      }).toString();
      res.redirect(302, back.href);
      return;
    }
    const pending: Pending = {
      scope: String(params.scope),
      state: String(params.state),
      nonce: params.nonce,
      codeChallenge: params.code_challenge,
      accessType: params.access_type ?? 'online',
      expiresAt: Date.now() + 10 * 60_000,
    };
    // Someone is logged in to the stand-in in this browser: ЕСИА does not ask again.
    const session = this.session(req);
    if (session) return this.issueCode(res, pending, session.oid, session.authTime);
    const request = randomBytes(16).toString('base64url');
    this.pending.set(request, pending);
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

  /** What only the authorization request is checked for: the response type and approved scopes. */
  private checkAuthorization(params: Record<string, string | undefined>): string | null {
    if (params.response_type !== 'code') return 'ESIA-007009';
    const scopes = (params.scope ?? '').split(' ');
    if (!scopes.includes('openid') || scopes.some((s) => !STAND_IN_APPROVED_SCOPES.includes(s)))
      return 'ESIA-007006';
    if (params.access_type !== undefined && !['online', 'offline'].includes(params.access_type))
      return 'ESIA-007003';
    // Only S256 is taken here: the relying party never sends `plain`, and whether ЕСИА accepts it
    // is not documented, so the stand-in does not (stricter, never easier, than ЕСИА).
    if (
      params.code_challenge !== undefined &&
      (params.code_challenge_method !== 'S256' || !S256_CHALLENGE.test(params.code_challenge))
    )
      return 'ESIA-007003';
    return null;
  }

  private sessionId(req: Request): string | null {
    const id = (req.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE];
    return typeof id === 'string' ? id : null;
  }

  private session(req: Request): { oid: number; authTime: number } | null {
    const id = this.sessionId(req);
    const session = id ? this.sessions.get(id) : undefined;
    return session && session.expiresAt > Date.now() ? session : null;
  }

  private issueCode(res: Response, pending: Pending, oid: number, authTime: number): void {
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, { ...pending, oid, authTime, expiresAt: Date.now() + CODE_TTL_MS });
    const back = new URL(this.config.gosuslugi.redirectUri);
    back.search = new URLSearchParams({ code, state: pending.state }).toString();
    res.redirect(302, back.href);
  }

  /** `/idp/ext/Logout?client_id&redirect_url`: ends the stand-in's session, then goes back. */
  private logout(req: Request, res: Response): void {
    const id = this.sessionId(req);
    if (id) this.sessions.delete(id);
    res.clearCookie(SESSION_COOKIE, { path: DEV_STAND_IN.esiaPath });
    res.setHeader('Cache-Control', 'no-store');
    const target = typeof req.query.redirect_url === 'string' ? req.query.redirect_url : '';
    const known = req.query.client_id === DEV_STAND_IN.clientId;
    // Back only to the development system's own addresses (the two that docs/esia.md registers).
    const registered = [CONTINUE_PATH, LOGGED_OUT_PATH].map((path) => this.config.publicUrl + path);
    if (known && registered.includes(target)) {
      res.redirect(302, target);
      return;
    }
    this.pages.send(res, 200, 'message', {
      title: 'ЕСИА (тестовый стенд): вы вышли',
      paragraphs: ['Сеанс тестового стенда завершён.'],
    });
  }

  private pick(req: Request, res: Response): void {
    const pending = this.pending.get(String(req.params.request));
    this.pending.delete(String(req.params.request));
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
      // ЕСИА reports a person who declined as ESIA-007004 with access_denied.
      const back = new URL(this.config.gosuslugi.redirectUri);
      back.search = new URLSearchParams({
        error: 'access_denied',
        error_description: 'ESIA-007004: Владелец ресурса отклонил запрос',
        state: pending.state,
      }).toString();
      res.redirect(302, back.href);
      return;
    }
    const session = randomBytes(24).toString('base64url');
    const authTime = Math.floor(Date.now() / 1000);
    this.sessions.set(session, {
      oid: person.oid,
      authTime,
      expiresAt: Date.now() + SESSION_TTL_MS,
    });
    res.cookie(SESSION_COOKIE, session, {
      httpOnly: true,
      sameSite: 'lax',
      path: DEV_STAND_IN.esiaPath,
    });
    this.issueCode(res, pending, person.oid, authTime);
  }

  private async token(req: Request, res: Response): Promise<void> {
    const params = req.body as Record<string, string | undefined>;
    const fail = (code: string) =>
      res.status(400).json({ error: 'invalid_request', error_description: this.describe(code) });
    const refresh = params.grant_type === 'refresh_token';
    // Single use, whatever the outcome: a code or refresh token is gone once presented.
    const issued = refresh
      ? params.refresh_token && this.refreshTokens.get(params.refresh_token)
      : params.code && this.codes.get(params.code);
    if (params.code) this.codes.delete(params.code);
    if (params.refresh_token) this.refreshTokens.delete(params.refresh_token);
    // A refresh signs the same text without the code.
    const error = this.check(params, refresh ? undefined : params.code);
    if (error) return void fail(error);
    const injected = this.nextError?.at === 'token' ? this.nextError.code : null;
    if (injected) {
      this.nextError = null;
      return void fail(injected);
    }
    if (!refresh && params.grant_type !== 'authorization_code') return void fail('ESIA-007003');
    if (!issued || issued.expiresAt < Date.now() || params.scope !== issued.scope)
      return void fail('ESIA-007011');
    if (isCode(issued)) {
      if (params.state === issued.state) return void fail('ESIA-007003');
      const pkce = this.checkVerifier(issued, params.code_verifier);
      if (pkce) return void fail(pkce);
    }

    // Faults of the token response are used here; a fault of the person data waits for its request.
    const fault =
      this.nextFault === 'contacts_unavailable' || this.nextFault === 'person_unavailable'
        ? null
        : this.nextFault;
    if (fault) this.nextFault = null;
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
      auth_time: issued.authTime,
      amr: 'PWD',
      'urn:esia:amd': 'PWD',
      'urn:esia:sbj': {
        typ: 'P',
        oid: fault === 'oid_mismatch' ? oid + 1 : oid,
        nam: `OID.${oid}`,
        'urn:esia:sbj:is_tru': person.trusted,
      },
      ...(this.echoNonce && 'nonce' in issued && issued.nonce ? { nonce: issued.nonce } : {}),
      ...(fault === 'wrong_nonce' ? { nonce: 'not-the-nonce' } : {}),
    });
    // ЕСИА's access token names the client as `client_id`.
    const accessToken = await this.sign({
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
    // ЕСИА echoes the token request's state; a faulty echo returns the authorization's instead.
    const state = fault === 'state_mismatch' && 'state' in issued ? issued.state : params.state;
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      id_token: idToken,
      access_token: accessToken,
      ...(refreshToken && { refresh_token: refreshToken }),
      state,
      token_type: 'Bearer',
      expires_in: 3600,
    });
  }

  /**
   * ЕСИА's PKCE check on /v3/te: a verifier for a code whose authorization had no challenge is
   * ESIA-007039, one whose S256 differs from the challenge ESIA-007040 (both in ЕСИА's catalogue).
   * For a missing verifier after a challenge the catalogue names no code of its own; the stand-in
   * answers ESIA-007003 (a mandatory parameter missing) rather than redeem the code.
   */
  private checkVerifier(issued: IssuedCode, verifier: unknown): string | null {
    if (issued.codeChallenge === undefined) return verifier === undefined ? null : 'ESIA-007039';
    // Missing, or given several times.
    if (typeof verifier !== 'string') return 'ESIA-007003';
    const challenge = createHash('sha256').update(verifier, 'ascii').digest('base64url');
    return sameSecret(challenge, issued.codeChallenge) ? null : 'ESIA-007040';
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

  /** The person the bearer token is about, if it is the stand-in's, current and for `:oid`. */
  private async bearer(req: Request): Promise<{ person: TestPerson; scopes: string[] } | null> {
    const token = /^Bearer (\S+)$/.exec(req.get('authorization') ?? '')?.[1];
    const claims = token
      ? await verifyEsiaJwt(token, this.material.tokenCertificates).catch(() => null)
      : null;
    const person = findTestPerson(String(req.params.oid));
    if (
      !claims ||
      !person ||
      String(claims['urn:esia:sbj_id']) !== String(person.oid) ||
      typeof claims.exp !== 'number' ||
      claims.exp * 1000 < Date.now()
    )
      return null;
    return { person, scopes: typeof claims.scope === 'string' ? claims.scope.split(' ') : [] };
  }

  private async person(req: Request, res: Response): Promise<void> {
    if (this.nextFault === 'person_unavailable') {
      this.nextFault = null;
      return void res.status(503).json({ error: 'unavailable' });
    }
    const caller = await this.bearer(req);
    if (!caller) return void res.status(401).json({ error: 'unauthorized' });
    const { person, scopes } = caller;
    res.json({
      stateFacts: ['EntityRoot'],
      oid: person.oid,
      ...(scopes.includes('fullname') && {
        firstName: person.firstName,
        lastName: person.lastName,
        middleName: person.middleName,
      }),
      ...(scopes.includes('snils') && { snils: person.snils }),
      trusted: person.trusted,
      status: 'REGISTERED',
      verifying: false,
      updatedOn: Math.floor(Date.now() / 1000),
    });
  }

  /**
   * `ctts` (contacts, by scope: `email` EML, `mobile` MBT, `contacts` both), `roles` (scope
   * usr_org), `addrs` and `docs` (empty here). With `embed=(elements)` the elements come inline,
   * otherwise as links, as ЕСИА answers.
   */
  private async collection(req: Request, res: Response): Promise<void> {
    const caller = await this.bearer(req);
    if (!caller) return void res.status(401).json({ error: 'unauthorized' });
    const { person, scopes } = caller;
    const collection = String(req.params.collection);
    if (collection === 'ctts' && this.nextFault === 'contacts_unavailable') {
      this.nextFault = null;
      return void res.status(503).json({ error: 'unavailable' });
    }
    const base = `${this.config.gosuslugi.esia?.preset.baseUrl}/rs/prns/${person.oid}/${collection}`;
    let elements: Record<string, unknown>[];
    switch (collection) {
      case 'ctts': {
        const types = [
          ...(scopes.includes('email') || scopes.includes('contacts') ? ['EML'] : []),
          ...(scopes.includes('mobile') || scopes.includes('contacts') ? ['MBT'] : []),
        ];
        if (types.length === 0) return void res.status(403).json({ error: 'forbidden' });
        elements = person.contacts
          .filter((contact) => types.includes(contact.type))
          .map((contact, index) => ({
            stateFacts: ['Identifiable'],
            id: person.oid * 10 + index,
            type: contact.type,
            vrfStu: contact.verified ? 'VERIFIED' : 'NOT_VERIFIED',
            value: contact.value,
          }));
        break;
      }
      case 'roles':
        if (!scopes.includes('usr_org')) return void res.status(403).json({ error: 'forbidden' });
        elements = person.organizations.map((org) => ({
          oid: org.oid,
          prnOid: person.oid,
          fullName: org.fullName,
          shortName: org.shortName,
          ogrn: org.ogrn,
          type: 'LEGAL',
          chief: org.chief,
          admin: org.admin,
          active: true,
          isLiquidated: false,
        }));
        // ЕСИА lists roles inline whether or not embed is asked for.
        return void res.json({ stateFacts: ['hasSize'], size: elements.length, elements });
      case 'addrs':
      case 'docs':
        elements = [];
        break;
      default:
        return void res.status(404).json({ error: 'not_found' });
    }
    const embed = req.query.embed === '(elements)';
    res.json({
      stateFacts: ['hasSize'],
      size: elements.length,
      elements: embed ? elements : elements.map((element) => `${base}/${String(element.id)}`),
    });
  }
}
