import { type INestApplication } from '@nestjs/common';
import { type NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { DEV_MOUNTS, type DevMount } from './common/dev-mounts.js';
import { type AppConfig } from './config/app-config.js';

/** Express `trust proxy`: unset → X-Forwarded-For is ignored; `true`, a hop count or a list of addresses. */
export function trustProxySetting(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}

/** Everything the HTTP layer needs, shared by main.ts and the tests so they serve the same app. */
export function configureApp(app: INestApplication, config: AppConfig): void {
  const express = app as NestExpressApplication;
  express.set('trust proxy', trustProxySetting(config.trustProxy));
  express.set('query parser', 'simple');
  express.disable('x-powered-by');
  app.use(
    helmet({
      hsts: config.isProduction ? { maxAge: 31_536_000, includeSubDomains: true } : false,
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  app.use(cookieParser());
  if (!config.isProduction) {
    for (const mount of app.get<DevMount[]>(DEV_MOUNTS)) app.use(mount.path, mount.router);
  }
  // After the development mounts: the stand-ins parse their own bodies (oidc-provider insists).
  express.useBodyParser('json', { limit: '64kb' });
  // Server-rendered forms post urlencoded bodies; the same validation pipe checks them.
  express.useBodyParser('urlencoded', { extended: false, limit: '64kb' });
  // API answers carry personal data and tokens: no cache may keep them.
  app.use('/api', (_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  const document = SwaggerModule.createDocument(
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
  app.enableShutdownHooks();
}
