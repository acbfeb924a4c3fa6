import { frameworkRequest } from '../common/http.js';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import Provider, {
  type Configuration,
  type KoaContextWithOIDC,
  interactionPolicy,
} from 'oidc-provider';
import { AuditService } from '../audit/audit.service.js';
import { sameSecret, secretDigest } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { SessionService } from '../sessions/session.service.js';
import { TokenService } from '../sessions/token.service.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { gosuslugiCheck, PROVIDER_ACRS } from './acr.js';
import { PROVIDER_CLAIMS, PROVIDER_SCOPES, ProviderAccounts } from './claims.js';
import { ClientsService } from './clients.service.js';
import { ConsentsService } from './consents.service.js';
import { FIRST_PARTY, loadExistingGrant } from './existing-grant.js';
import { postgresAdapter, sweepExpiredPayloads } from './postgres-adapter.js';
import { interactionPath, isProviderPath, PROVIDER_PREFIX } from './provider-paths.js';
import { logoutPages } from './logout-pages.js';
import { PROVIDER_TEXTS } from './provider.texts.js';
import { auditRefreshReuse, issueRefreshToken, rotateRefreshToken } from './refresh.js';
import { bindTokensToSessions } from './session-binding.js';
import { ownTokensOnly } from './token-endpoints.js';
import { AUTHORIZED, ProviderSessionLinks } from './session-link.js';

/** Expired rows are deleted this often (find ignores them already). */
const SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * Identity Link as the OpenID Provider of downstream applications: panva's oidc-provider, its
 * issuer PUBLIC_URL, its storage PostgreSQL (postgres-adapter.ts), its clients the registered
 * ones (ClientsService), its ID tokens signed with the access-token key (TokenService), its login
 * our own pages (InteractionsController). Handed Node's request by configureApp before the body
 * parsers, which must not consume its bodies.
 */
@Injectable()
export class ProviderService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('OidcProvider');
  private provider!: Provider;
  private callback!: ReturnType<Provider['callback']>;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly orm: MikroORM,
    private readonly tokens: TokenService,
    private readonly clients: ClientsService,
    private readonly sessions: SessionService,
    private readonly pages: PageRenderer,
    private readonly accounts: ProviderAccounts,
    private readonly audit: AuditService,
    private readonly consents: ConsentsService,
    private readonly links: ProviderSessionLinks,
  ) {}

  /** Whether the request at `path` is the provider's to answer (discovery, /oidc/...). */
  owns(path: string): boolean {
    return isProviderPath(path);
  }

  /**
   * Answers one of the provider's requests, on Node's own request and response, in a fresh
   * MikroORM context. Koa answers its own errors: what rejects here is a bug.
   */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return RequestContext.create(this.orm.em, () => this.callback(req, res));
  }

  get instance(): Provider {
    return this.provider;
  }

  onModuleInit(): void {
    this.provider = new Provider(this.config.publicUrl, this.configuration());
    // X-Forwarded-Proto and -Host are believed exactly when the server believes the proxy (TRUST_PROXY).
    this.provider.proxy =
      this.config.trustProxy !== undefined && this.config.trustProxy !== 'false';
    // The stored secret is its digest (common/secrets.ts): compare the presented secret's digest.
    Object.defineProperty(this.provider.Client.prototype, 'compareClientSecret', {
      value: function (this: { clientSecret?: string }, actual: string): boolean {
        return (
          typeof this.clientSecret === 'string' &&
          sameSecret(secretDigest(actual), this.clientSecret)
        );
      },
    });
    // One key set for access tokens and ID tokens: the JWKS published is the TokenService's, which
    // during a rotation also carries the retired keys (oidc-provider knows only the signing one).
    // Discovery lists every response mode oidc-provider knows (fixed in its code); every client here
    // is limited to the query (ClientsService.metadata), and discovery says so.
    this.provider.use(async (ctx: KoaContextWithOIDC, next) => {
      await next();
      if (ctx.status !== 200) return;
      if (ctx.oidc?.route === 'jwks') ctx.body = this.tokens.jwks();
      else if (ctx.oidc?.route === 'discovery')
        (ctx.body as { response_modes_supported: string[] }).response_modes_supported = ['query'];
    });
    bindTokensToSessions(this.provider, {
      sessionIdOf: async (request) =>
        (await this.sessions.fromCookieAuth(request))?.facts.sessionId ?? null,
      liveFor: (sessionId, accountId) => this.sessions.liveFor(sessionId, accountId),
    });
    auditRefreshReuse(this.provider, this.audit, (error) =>
      this.logger.error({ err: error }, 'could not record a refresh token reuse'),
    );
    // Our session's links to clients (session-link.ts): the end of ours ends theirs.
    this.provider.use(this.links.middleware);
    this.provider.on('authorization.success', (ctx: KoaContextWithOIDC) => {
      ctx.state[AUTHORIZED] = true;
    });
    // Logout tokens go through our durable queue (backchannel-logout.ts) when our session ends,
    // an RP-initiated logout included: oidc-provider's own single attempt would be a duplicate.
    Object.defineProperty(this.provider.Client.prototype, 'backchannelLogout', {
      value: (): Promise<void> => Promise.resolve(),
    });
    this.provider.on('server_error', (_ctx, error) =>
      this.logger.error({ err: error }, 'OpenID Provider server error'),
    );
    this.callback = this.provider.callback();
    this.sweeper = setInterval(() => {
      sweepExpiredPayloads(this.orm).catch((error: unknown) =>
        this.logger.warn({ err: error }, 'could not sweep expired OpenID Provider rows'),
      );
    }, SWEEP_INTERVAL_MS).unref();
  }

  /** The registered name of the client an interaction signs into, for the login page. */
  async clientNameOf(uid: string): Promise<string | null> {
    const interaction = await this.provider.Interaction.find(uid);
    const clientId = interaction?.params.client_id;
    return typeof clientId === 'string' ? this.clients.nameOf(clientId) : null;
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  /**
   * Only what differs from oidc-provider's defaults, each with its reason; see docs/oidc.md.
   */
  private configuration(): Configuration {
    const signing = this.tokens.signingJwk();
    const alg = signing.alg as 'ES256' | 'EdDSA';
    const policy = interactionPolicy.base();
    // The provider's session follows ours: without a live session of ours for the same person
    // (logged out, expired, ended from «Сеансы»), it asks for a login again, which our
    // interaction page answers from our session or our login form.
    policy.get('login')!.checks.add(
      new interactionPolicy.Check(
        'identity_link_session',
        'no live Identity Link session for this account',
        async (ctx) => {
          if (ctx.oidc.result?.login) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
          const session = await this.sessions.fromCookie(frameworkRequest(ctx.req));
          return session?.user.id === ctx.oidc.session?.accountId
            ? interactionPolicy.Check.NO_NEED_TO_PROMPT
            : interactionPolicy.Check.REQUEST_PROMPT;
        },
      ),
    );
    policy.get('login')!.checks.add(gosuslugiCheck());
    return {
      adapter: postgresAdapter(this.orm, (id) => this.clients.metadata(id)),
      // The registered clients come from the adapter; none are static.
      clients: [],
      jwks: { keys: [signing] },
      cookies: {
        keys: this.config.oidc.cookieKeys,
        // Not oidc-provider's `_session`: in development the Госуслуги stand-in, another
        // oidc-provider on this origin, uses those names and the two would overwrite each other.
        names: {
          session: 'il_oidc_session',
          interaction: 'il_oidc_interaction',
          resume: 'il_oidc_resume',
        },
      },
      // Our keys are ES256 or EdDSA; oidc-provider's default for clients is RS256.
      clientDefaults: {
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: alg,
      },
      extraClientMetadata: {
        properties: [FIRST_PARTY],
        validator: (_ctx, key, value) => {
          if (key === FIRST_PARTY && value !== undefined && typeof value !== 'boolean')
            throw new Error(`${FIRST_PARTY} must be a boolean`);
        },
      },
      // The stored secret is a hash (see ClientsService): methods that use the secret as a key
      // (client_secret_jwt) are left out, and so are the HS* algorithms everywhere.
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      enabledJWA: {
        idTokenSigningAlgValues: [alg],
      },
      // Authorization code only: no implicit or hybrid responses (RFC 9700 §2.1.2).
      responseTypes: ['code'],
      // PKCE for every client, confidential ones too (RFC 9700 §2.1.1, ASVS 10.4.6): it stops code
      // injection where a client secret alone would not. oidc-provider only supports S256.
      pkce: { required: () => true },
      acrValues: [...PROVIDER_ACRS],
      scopes: [...PROVIDER_SCOPES],
      claims: PROVIDER_CLAIMS,
      findAccount: (_ctx, id) => this.accounts.find(id),
      issueRefreshToken: (_ctx, client) => issueRefreshToken(client),
      rotateRefreshToken: rotateRefreshToken((sessionId, accountId) =>
        this.sessions.liveFor(sessionId, accountId, true),
      ),
      routes: {
        authorization: `${PROVIDER_PREFIX}/auth`,
        token: `${PROVIDER_PREFIX}/token`,
        userinfo: `${PROVIDER_PREFIX}/me`,
        jwks: `${PROVIDER_PREFIX}/jwks`,
        end_session: `${PROVIDER_PREFIX}/session/end`,
        introspection: `${PROVIDER_PREFIX}/token/introspection`,
        revocation: `${PROVIDER_PREFIX}/token/revocation`,
        registration: `${PROVIDER_PREFIX}/reg`,
        pushed_authorization_request: `${PROVIDER_PREFIX}/request`,
        code_verification: `${PROVIDER_PREFIX}/device`,
        device_authorization: `${PROVIDER_PREFIX}/device/auth`,
        backchannel_authentication: `${PROVIDER_PREFIX}/backchannel`,
        challenge: `${PROVIDER_PREFIX}/challenge`,
      },
      interactions: {
        policy,
        url: (_ctx, interaction) => interactionPath(interaction.uid),
      },
      loadExistingGrant: (ctx) =>
        loadExistingGrant(ctx, (userId, clientId) => this.consents.remembered(userId, clientId)),
      // oidc-provider asks for these three to be chosen; the others keep its defaults.
      ttl: {
        // Time to log in, through Госуслуги too, before the application must start again.
        Interaction: 600,
        // The provider's session lives no longer than ours can (SESSION_ABSOLUTE_TTL) and
        // follows ours anyway (the identity_link_session check); grants likewise.
        Session: Math.floor(this.config.session.absoluteTtlMs / 1000),
        Grant: Math.floor(this.config.session.absoluteTtlMs / 1000),
        // Shorter than oidc-provider's hour: like our own access tokens (ACCESS_TOKEN_TTL).
        AccessToken: Math.floor(this.config.accessToken.ttlMs / 1000),
        IdToken: Math.floor(this.config.accessToken.ttlMs / 1000),
        // Bounded by our session anyway (session-binding.ts): never longer than it can live.
        RefreshToken: Math.floor(this.config.session.absoluteTtlMs / 1000),
        AuthorizationCode: Math.max(1, Math.floor(this.config.oidc.codeTtlMs / 1000)),
      },
      features: {
        // Our pages are the interactions; the built-in development forms stay off.
        devInteractions: { enabled: false },
        // A client's logout ends our session too (session-link.ts); our pages, in Russian.
        rpInitiatedLogout: {
          enabled: true,
          ...logoutPages(this.pages, this.clients),
        },
        // Sent by our queue when our session ends (backchannel-logout.ts), never by oidc-provider.
        backchannelLogout: { enabled: true },
        // Client-authenticated; a client learns about and revokes its own tokens only. A token
        // whose session ended here is gone at once (session-binding.ts, backchannel-logout.ts).
        introspection: { enabled: true, allowedPolicy: ownTokensOnly },
        revocation: { enabled: true, allowedPolicy: ownTokensOnly },
      },
      renderError: (ctx, out) => {
        ctx.type = 'html';
        ctx.body = this.pages.render('message', {
          title: PROVIDER_TEXTS.errorTitle,
          paragraphs: [String(out.error_description ?? out.error)],
          code: String(out.error),
        });
      },
    };
  }
}
