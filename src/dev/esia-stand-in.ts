import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import express, { type Request, type Response, type Router } from 'express';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config.js';
import { DEV_STAND_IN } from '../config/gosuslugi.config.js';
import { certificateHash } from '../gosuslugi/esia/certificates.js';
import { CONTINUE_PATH, LOGGED_OUT_PATH } from '../gosuslugi/provider-client.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { ensureEsiaDevMaterial } from './esia-dev-material.js';
import {
  checkAuthorization,
  checkSignedRequest,
  checkVerifier,
  describeEsiaCode,
  type RegisteredSystem,
} from './esia-stand-in-checks.js';
import { StandInPersonData } from './esia-stand-in-person.js';
import { StandInSessions } from './esia-stand-in-sessions.js';
import {
  type EsiaStandInFault,
  isCode,
  type Pending,
  StandInTokens,
  type StandInTokenSigning,
} from './esia-stand-in-tokens.js';
import { findTestPerson, TEST_PERSONS } from './test-persons.js';

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
  private system!: RegisteredSystem;
  private tokens!: StandInTokens;
  private persons!: StandInPersonData;
  private readonly pending = new Map<string, Pending>();
  private readonly sessions = new StandInSessions();
  /** The next authorization (or, with `token`, token request) answers with this ЕСИА error. */
  private nextError: { code: string; at: 'authorize' | 'token' } | null = null;

  /** How the next tokens are signed; `unregistered` uses a key no configured certificate holds. */
  tokenSigning: StandInTokenSigning = 'RS256';
  /** Real ЕСИА was not seen returning the nonce; the stand-in can, to test `required`. */
  echoNonce = false;
  /** Makes the next token response wrong in one way (negative tests of the relying party). */
  private nextFault: EsiaStandInFault | null = null;

  injectFault(fault: EsiaStandInFault): void {
    this.nextFault = fault;
  }

  /** Makes every open stand-in session look as if the person logged in `seconds` earlier. */
  ageSessions(seconds: number): void {
    this.sessions.age(seconds);
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
    const material = await ensureEsiaDevMaterial(this.config.dataDir);
    this.system = {
      certificate: material.systemCertificate,
      redirectUri: this.config.gosuslugi.redirectUri,
      // The stand-in's own GOST certificate plays «another system's» registered certificate.
      otherSystemsCertificates: material.tokenCertificates
        .filter((certificate) => certificate.key.kind === 'gost2012-256')
        .map(certificateHash),
    };
    this.tokens = new StandInTokens(this.config, material);
    this.persons = new StandInPersonData(this.config, material.tokenCertificates, (fault) => {
      if (this.nextFault !== fault) return false;
      this.nextFault = null;
      return true;
    });
    const form = express.urlencoded({ extended: false, limit: '16kb' });
    this.router.get('/aas/oauth2/v2/ac', (req, res) => this.authorize(req, res));
    this.router.post('/aas/oauth2/v2/ac/:request/pick', form, (req, res) => this.pick(req, res));
    this.router.post('/aas/oauth2/v3/te', form, (req, res, next) =>
      this.token(req, res).catch(next),
    );
    this.router.get('/rs/prns/:oid', (req, res, next) => this.persons.person(req, res).catch(next));
    this.router.get('/rs/prns/:oid/:collection', (req, res, next) =>
      this.persons.collection(req, res).catch(next),
    );
    this.router.get('/idp/ext/Logout', (req, res) => this.logout(req, res));
    this.logger.warn(
      `development ЕСИА stand-in (not real) at ${this.config.gosuslugi.esia?.preset.baseUrl}`,
    );
  }

  private authorize(req: Request, res: Response): void {
    const params = req.query as Record<string, string | undefined>;
    const error = checkSignedRequest(params, this.system) ?? checkAuthorization(params);
    if (error === 'ESIA-007005' || error === 'ESIA-007023') {
      // Nowhere safe to send the browser back to.
      this.message(res, 400, {
        title: 'ЕСИА (тестовый стенд): ошибка',
        paragraphs: [describeEsiaCode(error)],
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
        error_description: describeEsiaCode(code),
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
    const session = this.sessions.current(req);
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

  private issueCode(res: Response, pending: Pending, oid: number, authTime: number): void {
    const code = this.tokens.issueCode(pending, oid, authTime);
    const back = new URL(this.config.gosuslugi.redirectUri);
    back.search = new URLSearchParams({ code, state: pending.state }).toString();
    res.redirect(302, back.href);
  }

  /** A page of the stand-in's own: a message (this Express router answers for itself). */
  private message(res: Response, status: number, data: object): void {
    res.status(status).type('html').setHeader('Cache-Control', 'no-store');
    res.send(this.pages.render('message', data));
  }

  /** `/idp/ext/Logout?client_id&redirect_url`: ends the stand-in's session, then goes back. */
  private logout(req: Request, res: Response): void {
    this.sessions.end(req, res);
    res.setHeader('Cache-Control', 'no-store');
    const target = typeof req.query.redirect_url === 'string' ? req.query.redirect_url : '';
    const known = req.query.client_id === DEV_STAND_IN.clientId;
    // Back only to the development system's own addresses (the two that docs/esia.md registers).
    const registered = [CONTINUE_PATH, LOGGED_OUT_PATH].map((path) => this.config.publicUrl + path);
    if (known && registered.includes(target)) {
      res.redirect(302, target);
      return;
    }
    this.message(res, 200, {
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
      this.message(res, 400, {
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
    const authTime = this.sessions.start(res, person.oid);
    this.issueCode(res, pending, person.oid, authTime);
  }

  private async token(req: Request, res: Response): Promise<void> {
    const params = req.body as Record<string, string | undefined>;
    const fail = (code: string) =>
      res.status(400).json({ error: 'invalid_request', error_description: describeEsiaCode(code) });
    const refresh = params.grant_type === 'refresh_token';
    const issued = this.tokens.take(params, refresh);
    // A refresh signs the same text without the code.
    const error = checkSignedRequest(params, this.system, refresh ? undefined : params.code);
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
      const pkce = checkVerifier(issued.codeChallenge, params.code_verifier);
      if (pkce) return void fail(pkce);
    }

    // Faults of the token response are used here; a fault of the person data waits for its request.
    const fault =
      this.nextFault === 'contacts_unavailable' || this.nextFault === 'person_unavailable'
        ? null
        : this.nextFault;
    if (fault) this.nextFault = null;
    const body = await this.tokens.response(issued, params.state, {
      fault,
      refresh,
      signing: this.tokenSigning,
      echoNonce: this.echoNonce,
    });
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  }
}
