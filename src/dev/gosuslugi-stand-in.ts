import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import express, { type Request, type Response, type Router } from 'express';
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
  type JWTPayload,
} from 'jose';
import { randomBytes } from 'node:crypto';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { AppConfig } from '../config/app-config.js';
import { DEV_STAND_IN } from '../config/gosuslugi.config.js';
import { LOGGED_OUT_PATH } from '../gosuslugi/provider-client.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { standInAdapter } from './stand-in-adapter.js';
import { findTestPerson, personClaims, TEST_PERSONS } from './test-persons.js';

/** Ways the stand-in can misbehave on its next token response, for negative tests. */
export type StandInFault =
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'alg_none'
  | 'bad_signature'
  | 'unknown_kid'
  | 'wrong_nonce';

/**
 * «Госуслуги (тестовый стенд)»: a real OpenID Connect provider (oidc-provider) with invented
 * test persons, mounted at /dev/gosuslugi in development. Tokens are RS256 like ЕСИА's; the
 * subject is the person's numeric oid. Never loaded in production (see DevModule).
 */
@Injectable()
export class GosuslugiStandIn implements OnModuleInit {
  private readonly logger = new Logger('GosuslugiStandIn');
  private provider!: Provider;
  private signingJwk!: JWK;
  private nextFault: StandInFault | null = null;
  readonly router: Router = express.Router();

  constructor(
    private readonly config: AppConfig,
    private readonly pages: PageRenderer,
  ) {}

  async onModuleInit(): Promise<void> {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    this.signingJwk = {
      ...(await exportJWK(privateKey)),
      kid: `stand-in-${randomBytes(4).toString('hex')}`,
      alg: 'RS256',
      use: 'sig',
    };
    this.provider = new Provider(this.config.gosuslugi.issuer, this.configuration());
    this.provider.proxy = this.config.trustProxy !== undefined;
    this.provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/token' && this.nextFault) await this.tamper(ctx, this.nextFault);
    });
    this.mountInteractions();
    this.router.use(this.provider.callback());
    this.logger.warn(
      `development Госуслуги stand-in (not real) at ${this.config.gosuslugi.issuer}`,
    );
  }

  /** Makes the next token response carry a broken ID token (tests only). */
  injectFault(fault: StandInFault): void {
    this.nextFault = fault;
  }

  private configuration(): Configuration {
    return {
      clients: [
        {
          client_id: DEV_STAND_IN.clientId,
          client_secret: DEV_STAND_IN.clientSecret,
          redirect_uris: [this.config.gosuslugi.redirectUri],
          post_logout_redirect_uris: [`${this.config.publicUrl}${LOGGED_OUT_PATH}`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
          id_token_signed_response_alg: 'RS256',
          // auth_time in every ID token, so a reused provider session shows.
          require_auth_time: true,
        },
      ],
      adapter: standInAdapter(),
      jwks: { keys: [this.signingJwk] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      scopes: ['openid', 'fullname', 'snils', 'email'],
      claims: {
        openid: ['sub', 'urn:esia:sbj', 'trusted'],
        fullname: ['family_name', 'given_name', 'middle_name'],
        snils: ['snils'],
        email: ['email', 'email_verified'],
      },
      // oidc-provider's default, as real OpenID providers behave: with an access token issued,
      // the ID token carries only `sub` and the scope claims come from UserInfo.
      conformIdTokenClaims: true,
      pkce: { required: () => true },
      interactions: {
        url: (_ctx, interaction) => `${DEV_STAND_IN.path}/interaction/${interaction.uid}`,
      },
      findAccount: (_ctx, id) => {
        const person = findTestPerson(id);
        if (!person) return undefined;
        return { accountId: id, claims: () => personClaims(person) };
      },
      // A first-party test tool: grant what was asked without a consent screen.
      loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
        const grantId =
          ctx.oidc.result?.consent?.grantId ??
          ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
        if (grantId) return ctx.oidc.provider.Grant.find(grantId);
        const grant = new ctx.oidc.provider.Grant({
          clientId: ctx.oidc.client!.clientId,
          accountId: ctx.oidc.session!.accountId,
        });
        const scope = ctx.oidc.params?.scope;
        grant.addOIDCScope(typeof scope === 'string' ? scope : 'openid');
        await grant.save();
        return grant;
      },
      ttl: {
        Session: 3600,
        Interaction: 600,
        AuthorizationCode: 60,
        AccessToken: 3600,
        IdToken: 3600,
        Grant: 3600,
      },
      features: {
        devInteractions: { enabled: false },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: (ctx, form) => {
            ctx.type = 'html';
            ctx.body = this.pages.render('dev-gosuslugi-logout', {
              title: 'Госуслуги (тестовый стенд): выход',
              form,
            });
          },
        },
      },
      renderError: (ctx, out) => {
        ctx.type = 'html';
        ctx.body = this.pages.render('message', {
          title: 'Госуслуги (тестовый стенд): ошибка',
          paragraphs: [String(out.error_description ?? out.error)],
          code: String(out.error),
        });
      },
    };
  }

  private mountInteractions(): void {
    const form = express.urlencoded({ extended: false, limit: '4kb' });
    this.router.get('/interaction/:uid', (req: Request, res: Response, next) => {
      this.provider
        .interactionDetails(req, res)
        .then((details) => {
          const base = `${DEV_STAND_IN.path}/interaction/${details.uid}`;
          res.setHeader('Cache-Control', 'no-store');
          res.type('html').send(
            this.pages.render('dev-gosuslugi-login', {
              title: 'Госуслуги (тестовый стенд)',
              persons: TEST_PERSONS,
              clientId: String(details.params.client_id),
              scope: String(details.params.scope),
              action: `${base}/login`,
              cancelAction: `${base}/abort`,
            }),
          );
        })
        .catch(next);
    });
    this.router.post('/interaction/:uid/login', form, (req: Request, res: Response, next) => {
      const submitted = (req.body as Record<string, unknown>).oid;
      const oid = typeof submitted === 'string' ? submitted : '';
      const result = findTestPerson(oid)
        ? { login: { accountId: oid } }
        : { error: 'access_denied', error_description: 'unknown test person' };
      this.provider
        .interactionFinished(req, res, result, { mergeWithLastSubmission: false })
        .catch(next);
    });
    this.router.post('/interaction/:uid/abort', (req: Request, res: Response, next) => {
      this.provider
        .interactionFinished(
          req,
          res,
          { error: 'access_denied', error_description: 'Пользователь отказался от входа' },
          { mergeWithLastSubmission: false },
        )
        .catch(next);
    });
  }

  /** Rewrites the ID token of this token response the way the fault says, once. */
  private async tamper(ctx: { body?: unknown }, fault: StandInFault): Promise<void> {
    const body = ctx.body as { id_token?: string } | undefined;
    if (!body?.id_token) return;
    this.nextFault = null;
    const claims: JWTPayload = { ...decodeJwt(body.id_token) };
    const header = decodeProtectedHeader(body.id_token);
    const now = Math.floor(Date.now() / 1000);
    let key = await importJWK(this.signingJwk, 'RS256');
    let kid = header.kid;
    switch (fault) {
      case 'wrong_issuer':
        claims.iss = 'https://evil.example/';
        break;
      case 'wrong_audience':
        claims.aud = 'someone-else';
        break;
      case 'expired':
        claims.iat = now - 7200;
        claims.exp = now - 3600;
        break;
      case 'wrong_nonce':
        claims.nonce = randomBytes(16).toString('base64url');
        break;
      case 'alg_none': {
        const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
        body.id_token = `${encode({ alg: 'none', typ: 'JWT' })}.${encode(claims)}.`;
        return;
      }
      case 'bad_signature':
        key = (await generateKeyPair('RS256')).privateKey;
        break;
      case 'unknown_kid':
        key = (await generateKeyPair('RS256')).privateKey;
        kid = 'unknown-key';
        break;
    }
    body.id_token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid, typ: header.typ })
      .sign(key);
  }
}
