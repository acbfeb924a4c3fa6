import { MikroORM } from '@mikro-orm/postgresql';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { type Logger } from 'pino';
import { AsyncResource } from 'node:async_hooks';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_MOUNTS, type DevMounts } from './common/dev-mounts.js';
import { type ErrorCode } from './common/error-codes.js';
import { GracefulShutdown } from './common/graceful-shutdown.js';
import { BODY_LIMIT_BYTES, registerBodyParsers } from './common/body-parsers.js';
import { adoptRequest, frameworkRequest, pathOfUrl, sendJson } from './common/http.js';
import {
  loggerInScope,
  PinoNestLogger,
  requestIdFor,
  requestLogging,
} from './common/request-logging.js';
import { applyHeaders, type HeaderSteps, recordHeaders } from './common/security-headers.js';
import { type AppConfig } from './config/app-config.js';
import { requestContext } from './database/request-context.js';
import { ProviderService } from './provider/provider.service.js';
import { sendError } from './rendering/http-exception.filter.js';
import { PageRenderer } from './rendering/page-renderer.js';
import { PUBLIC_STATUS_PATH } from './web/public-status-page.controller.js';

/**
 * `TRUST_PROXY` as Fastify's `trustProxy`: unset → X-Forwarded-For is ignored; `true`, a list of
 * addresses and subnets, or a hop count. Fastify 5 refuses a bare hop count (it trusts whatever
 * connects directly, so it fails closed); the count keeps its meaning from before as a function,
 * the one Express compiled it to: the nearest `n` hops are proxies (README: prefer addresses).
 */
export function trustProxySetting(
  value: string | undefined,
): boolean | string | ((address: string, hop: number) => boolean) {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value;
}

/**
 * No inline script or style anywhere, no plugins, no framing. Forms may post to this service and,
 * because a login form can end in a redirect to Госуслуги, to the provider's origin.
 */
export function contentSecurityPolicy(config: AppConfig): Record<string, string[]> {
  const provider = [config.gosuslugi.issuer, config.gosuslugi.esia?.preset.baseUrl]
    .filter((url): url is string => Boolean(url))
    .map((url) => new URL(url).origin)
    .filter((origin) => origin !== new URL(config.publicUrl).origin);
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:'],
    'connect-src': ["'self'"],
    'font-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'frame-ancestors': ["'none'"],
    'form-action': ["'self'", ...new Set(provider)],
    ...(config.isProduction && { 'upgrade-insecure-requests': [] }),
  };
}

/** Longer than any path a route here takes (find-my-way's default, 100, would answer 414 sooner). */
const MAX_PARAM_LENGTH = 2048;

/**
 * The HTTP server: Fastify (issue 20: a third less CPU a request than Express), set as Express
 * served before: `/Login` and `/login/` are `/login`, the client's address from X-Forwarded-For
 * only through a trusted proxy, JSON and form bodies up to 64 KiB. The drain closes connections
 * itself (GracefulShutdown), so Fastify's close does not.
 */
export function httpAdapter(config: AppConfig): FastifyAdapter {
  const headersFor = securityHeaders(config);
  const adapter: WithErrorLayers = new FastifyAdapter({
    trustProxy: trustProxySetting(config.trustProxy),
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: {
      caseSensitive: false,
      ignoreTrailingSlash: true,
      maxParamLength: MAX_PARAM_LENGTH,
    },
    // Node's own limits, as before: a whole request within 300 s (Fastify turns it off), an idle
    // kept-alive connection closed after 5 s (Fastify keeps it 72 s).
    requestTimeout: 300_000,
    keepAliveTimeout: 5_000,
    // The request's id is the caller's X-Request-Id when it looks like one (request-logging.ts).
    genReqId: (req: IncomingMessage) => (req.id = requestIdFor(req)),
    // No route here has a JSON schema (the validation pipe checks bodies): Fastify's default
    // compilers (ajv, fast-json-stringify) would be loaded for nothing, some 3 MiB of the memory
    // after start. A route given a schema fails at start, and says why.
    schemaController: {
      compilersFactory: {
        buildValidator: () => () => {
          throw new Error('a route has a JSON schema, and no validator compiler is configured');
        },
        buildSerializer: () => () => {
          throw new Error('a route has a JSON schema, and no serializer compiler is configured');
        },
      },
    },
    // No Nest or Express middleware: the layers are one hook (configureApp). Without this the
    // adapter registers @fastify/middie, whose hook every request passed for nothing.
    skipMiddie: true,
    forceCloseConnections: false,
    return503OnClosing: false,
    // A URL that does not decode (`%ED%A0%80` in a parameter) is a 400, a parameter over
    // MAX_PARAM_LENGTH a 414, each of the service's own shape and with the headers of every
    // answer, not Fastify's. Fastify answers them before its hooks: the layers that give every
    // request its id, its log line and its place in the drain are run here (configureApp).
    frameworkErrors: (
      error: Error & { statusCode?: number },
      request: FastifyRequest,
      reply: FastifyReply,
    ) => {
      const [statusCode, code, message]: [number, ErrorCode, string] =
        error.statusCode === 414
          ? [414, 'uri_too_long', 'Слишком длинный адрес запроса']
          : (error.statusCode ?? 500) >= 500
            ? [500, 'internal_error', 'Внутренняя ошибка']
            : [400, 'bad_request', 'Некорректный запрос'];
      const app = adapter[FRAMEWORK_ERRORS];
      const answer = () => {
        const logger = app && loggerInScope(app.log);
        if (statusCode === 500) logger?.error({ err: error }, 'request failed');
        applyHeaders(reply.raw, headersFor(pathOfUrl(request.url)));
        reply.header('Cache-Control', 'no-store');
        const body = { statusCode, code, message };
        // A person whose mail client mangled or lengthened a link gets the error page. Nothing
        // around this handler catches: a page that fails to render is answered as JSON.
        try {
          sendError(app?.pages, frameworkRequest(request.raw), reply, body);
        } catch (renderError) {
          logger?.error({ err: renderError }, 'error page failed');
          if (!reply.sent) sendJson(reply, statusCode, body);
        }
      };
      adoptRequest(request);
      if (app) app.layers(request.raw, reply.raw, answer);
      else answer();
    },
  });
  return adapter;
}

/** What a framework error's answer needs of the app, set by configureApp. */
const FRAMEWORK_ERRORS = Symbol('identity-link.framework-errors');
type WithErrorLayers = FastifyAdapter & {
  [FRAMEWORK_ERRORS]?: {
    /** The layers every request passes. */
    layers: NodeLayer;
    pages: PageRenderer;
    log: Logger;
  };
};

/** The request's async context, to enter again once its body has been read. */
const CONTEXT = Symbol('identity-link.context');
type InContext = IncomingMessage & { [CONTEXT]?: AsyncResource };

/** A layer every request passes: Node's request and response, and what comes next. */
export type NodeLayer = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** Everything the HTTP layer needs, shared by main.ts and the tests so they serve the same app. */
export function configureApp(
  app: NestFastifyApplication,
  config: AppConfig,
  options: { firstLayer?: NodeLayer } = {},
): void {
  const adapter = app.getHttpAdapter() as FastifyAdapter;
  const fastify = adapter.getInstance();
  const headersFor = securityHeaders(config);
  const track = app.get(GracefulShutdown).track;
  const log = app.get(PinoNestLogger).root;
  const logging = requestLogging(log);
  const provider = app.get(ProviderService);
  const dev = config.isProduction ? undefined : app.get<DevMounts>(DEV_MOUNTS);
  const ormContext = requestContext(app.get(MikroORM).em);
  const first: NodeLayer = options.firstLayer ?? ((_req, _res, next) => next());

  // Every layer in one hook, ahead of routing's work (in place of Express middleware; through
  // Fastify's middleware plugin they cost a request more, «2026-12-04, 15:00» in
  // docs/performance.md). The answers the service writes itself go through Fastify's reply; the
  // headers every answer carries are set on Node's response, so that those Fastify does not send
  // (the OpenID Provider's, the development stand-ins') carry them too.
  // The adapter's own first hook: ahead of Nest's, which sends a target the router cannot match
  // (`*login`) to the not-found handler without the hooks after it.
  adapter.setOnRequestHook((request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    adoptRequest(request);
    const req = request.raw;
    const res = reply.raw;
    const path = pathOfUrl(request.url);
    const layers = () =>
      // Every request is counted first, so SIGTERM can wait for the ones in flight. Then it gets
      // its id (X-Request-Id), its logging context and its access log line.
      track(req, res, () =>
        logging(req, res, () => {
          applyHeaders(res, headersFor(path));
          // The OpenID Provider answers its own routes (discovery, /oidc/...) and reads its own
          // bodies; so do the development stand-ins.
          if (provider.owns(path)) {
            reply.hijack();
            provider.handle(req, res).catch((error: unknown) => {
              // Koa answers its own errors: what escapes it is a bug.
              log.error({ err: error }, 'OpenID Provider request failed');
              if (res.headersSent) res.destroy();
              else res.writeHead(500).end();
            });
            return;
          }
          if (dev?.paths.some((prefix) => path === prefix || path.startsWith(`${prefix}/`))) {
            reply.hijack();
            dev.handle(req, res);
            return;
          }
          // Every dynamic answer may carry personal data or a credential — API bodies, pages
          // with form tokens, redirects that set a session cookie or carry `state` to Госуслуги —
          // so none may be cached unless a handler says otherwise (the JWKS, the static assets).
          res.setHeader('Cache-Control', 'no-store');
          // Its own ORM request context, forked on first use (in place of @mikro-orm/nestjs's
          // middleware, which forks on every request: registerRequestContext off).
          ormContext(req, res, () => {
            // Reading a body ends up in the socket's async context: the contexts above are
            // entered again from here once it has been read (preValidation, below). Fastify
            // reads none for GET and HEAD and calls the handler in this context.
            if (req.method !== 'GET' && req.method !== 'HEAD')
              (req as InContext)[CONTEXT] = new AsyncResource('identity-link:request');
            done();
          });
        }),
      );
    first(req, res, layers);
  });
  // A request Fastify refuses before its hooks (a URL that does not decode, a parameter too long)
  // is counted, given its id and logged all the same.
  (adapter as WithErrorLayers)[FRAMEWORK_ERRORS] = {
    layers: (req, res, answer) =>
      first(req, res, () => track(req, res, () => logging(req, res, answer))),
    pages: app.get(PageRenderer),
    log,
  };
  fastify.addHook('preValidation', (request, _reply, done) => {
    const context = (request.raw as InContext)[CONTEXT];
    if (context) context.runInAsyncScope(done);
    else done();
  });
  // JSON for the API; server-rendered forms post urlencoded bodies; the same validation pipe
  // checks both. Other bodies are left for the route (body-parsers.ts).
  registerBodyParsers(fastify);
  // Stylesheet and scripts of the pages: files, so the CSP needs no inline code.
  app.useStaticAssets({
    root: fileURLToPath(new URL('./web/assets', import.meta.url)),
    prefix: '/assets/',
    index: false,
    maxAge: config.isProduction ? '1h' : 0,
  });
  // The passkey ceremony's browser part (@simplewebauthn/browser's own bundle), from this origin:
  // script-src 'self' holds, no CDN.
  app.useStaticAssets({
    root: simpleWebAuthnBundleDir(),
    prefix: '/assets/vendor/simplewebauthn/',
    index: false,
    maxAge: config.isProduction ? '1h' : 0,
    decorateReply: false,
  });
  // The document is built on the first request for it, not at start: building it walks every
  // route's metadata and holds some 17 MiB that a production instance rarely needs.
  const document = (): OpenAPIObject =>
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Identity Link')
        .setDescription('Учётные записи ЭПОС, привязка Госуслуг, приглашения ПОС')
        .setVersion('1')
        .addCookieAuth(config.session.cookieName)
        .addBearerAuth()
        .build(),
    );
  SwaggerModule.setup('api/docs', app, document);
}

/**
 * Helmet's headers for an answer at a path. They are the same on every answer of a kind, so they
 * are computed once and set in one step (security-headers.ts).
 */
function securityHeaders(config: AppConfig): (path: string) => HeaderSteps {
  const directives = contentSecurityPolicy(config);
  const pagesCsp = helmet.contentSecurityPolicy({ useDefaults: false, directives });
  // Swagger UI's page carries one inline <style>; only it gets 'unsafe-inline' for styles.
  const docsCsp = helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: { ...directives, 'style-src': ["'self'", "'unsafe-inline'"] },
  });
  // A published connection status is meant to be framed by the administration's site: only that
  // route may be framed, by any site (it shows nothing personal and has no forms).
  const framedCsp = helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: { ...directives, 'frame-ancestors': ['*'] },
  });
  const helmetOptions = {
    contentSecurityPolicy: false,
    hsts: config.isProduction ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // Same-origin form posts keep their Origin header (with no-referrer Chrome sends
    // `Origin: null`, which the same-origin check must refuse); other sites get nothing.
    referrerPolicy: { policy: 'same-origin' as const },
  };
  const others = helmet(helmetOptions);
  const pagesHeaders = recordHeaders(pagesCsp, others);
  const docsHeaders = recordHeaders(docsCsp, others);
  const framedHeaders = recordHeaders(
    framedCsp,
    helmet({ ...helmetOptions, xFrameOptions: false }),
  );
  return (path) =>
    path.startsWith('/api/docs')
      ? docsHeaders
      : path.startsWith(PUBLIC_STATUS_PATH)
        ? framedHeaders
        : pagesHeaders;
}

/** The directory of @simplewebauthn/browser's UMD bundle (its package exports only the module). */
function simpleWebAuthnBundleDir(): string {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return join(dirname(entry), '..', 'dist', 'bundle');
}
