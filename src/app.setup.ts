import { MikroORM } from '@mikro-orm/postgresql';
import { type INestApplication } from '@nestjs/common';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { json, type NextFunction, type Request, type Response, urlencoded } from 'express';
import helmet from 'helmet';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_MOUNTS, type DevMount } from './common/dev-mounts.js';
import { GracefulShutdown } from './common/graceful-shutdown.js';
import { bodyParsers } from './common/body-parsers.js';
import { rejectDeepJson } from './common/json-depth.js';
import { PinoNestLogger, requestLogging } from './common/request-logging.js';
import { applyHeaders, recordHeaders } from './common/security-headers.js';
import { type AppConfig } from './config/app-config.js';
import { requestContext } from './database/request-context.js';
import { ProviderService } from './provider/provider.service.js';
import { PUBLIC_STATUS_PATH } from './web/public-status-page.controller.js';

/** Express `trust proxy`: unset → X-Forwarded-For is ignored; `true`, a hop count or a list of addresses. */
export function trustProxySetting(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
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

/** Everything the HTTP layer needs, shared by main.ts and the tests so they serve the same app. */
export function configureApp(app: INestApplication, config: AppConfig): void {
  const express = app as NestExpressApplication;
  // First: every request is counted, so SIGTERM can wait for the ones in flight.
  app.use(app.get(GracefulShutdown).track);
  // Then every request gets its id (X-Request-Id), its logging context and its access log line.
  app.use(requestLogging(app.get(PinoNestLogger).root));
  express.set('trust proxy', trustProxySetting(config.trustProxy));
  express.set('query parser', 'simple');
  express.disable('x-powered-by');
  // No validator on every body: dynamic answers are `no-store` (below), so none is ever used, and
  // hashing each body was some 3% of a no-op's CPU. The cacheable answers set their own (etag.ts).
  express.set('etag', false);
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
  const others = helmet({
    contentSecurityPolicy: false,
    hsts: config.isProduction ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // Same-origin form posts keep their Origin header (with no-referrer Chrome sends
    // `Origin: null`, which the same-origin check must refuse); other sites get nothing.
    referrerPolicy: { policy: 'same-origin' },
  });
  // Helmet's headers are the same on every answer of a kind: computed once, set in one step.
  const pagesHeaders = recordHeaders(pagesCsp, others);
  const docsHeaders = recordHeaders(docsCsp, others);
  const framedHeaders = recordHeaders(framedCsp, others);
  app.use((req: Request, res: Response, next: NextFunction) => {
    const path = req.path;
    applyHeaders(
      res,
      path.startsWith('/api/docs')
        ? docsHeaders
        : path.startsWith(PUBLIC_STATUS_PATH)
          ? framedHeaders
          : pagesHeaders,
    );
    next();
  });
  // Stylesheet and scripts of the pages: files, so the CSP needs no inline code.
  express.useStaticAssets(fileURLToPath(new URL('./web/assets', import.meta.url)), {
    prefix: '/assets/',
    index: false,
    maxAge: config.isProduction ? '1h' : 0,
  });
  // The passkey ceremony's browser part (@simplewebauthn/browser's own bundle), from this origin:
  // script-src 'self' holds, no CDN.
  express.useStaticAssets(simpleWebAuthnBundleDir(), {
    prefix: '/assets/vendor/simplewebauthn/',
    index: false,
    maxAge: config.isProduction ? '1h' : 0,
  });
  if (!config.isProduction) {
    for (const mount of app.get<DevMount[]>(DEV_MOUNTS)) app.use(mount.path, mount.router);
  }
  // The OpenID Provider answers its own routes (discovery, /oidc/...) and parses its own bodies.
  const provider = app.get(ProviderService);
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (!provider.owns(req.path)) return next();
    // What escapes Koa is a bug, for Express's error handler.
    provider.handle(req, res).catch(next);
  });
  // After the provider and the development mounts: they parse their own bodies (oidc-provider insists).
  // JSON for the API; server-rendered forms post urlencoded bodies; the same validation pipe
  // checks both. A request without a body (most GETs) skips both parsers.
  app.use(bodyParsers(json({ limit: '64kb' }), urlencoded({ extended: false, limit: '64kb' })));
  // Every dynamic answer may carry personal data or a credential — API bodies, pages with form
  // tokens, redirects that set a session cookie or carry `state` to Госуслуги — so none may be
  // cached unless a handler says otherwise (the JWKS does). Static assets are served above.
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  // A parsed JSON body nested too deep for the validation pipe's recursive copy is refused (400).
  app.use(rejectDeepJson);
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
  // Every request Nest routes runs in its own ORM request context, forked on first use (in place
  // of @mikro-orm/nestjs's middleware, which forks on every request: registerRequestContext off).
  app.use(requestContext(app.get(MikroORM).em));
}

/** The directory of @simplewebauthn/browser's UMD bundle (its package exports only the module). */
function simpleWebAuthnBundleDir(): string {
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  return join(dirname(entry), '..', 'dist', 'bundle');
}
