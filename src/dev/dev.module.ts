import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { DevMailbox } from './dev-mailbox.js';
import express, { type Router } from 'express';
import { DEV_MOUNTS, type DevMounts } from '../common/dev-mounts.js';
import { type AppConfig } from '../config/app-config.js';
import { DEV_STAND_IN } from '../config/gosuslugi.config.js';
import { RenderingModule } from '../rendering/rendering.module.js';
import { EsiaStandIn } from './esia-stand-in.js';
import { GosuslugiStandIn } from './gosuslugi-stand-in.js';

/**
 * Development-only parts: the Госуслуги stand-in in its OIDC shape (dev profile) or its ЕСИА
 * shape (esia profile with GOSUSLUGI_ESIA_ENV=dev), and the development mailbox when there is no
 * SMTP. Never imported in production (the service's own OpenID Provider lives in src/provider).
 */
@Module({})
export class DevModule {
  static forRoot(config: AppConfig): DynamicModule {
    const esia = config.gosuslugi.profile === 'esia';
    const standIn: Provider[] = config.gosuslugi.standIn
      ? [esia ? EsiaStandIn : GosuslugiStandIn]
      : [];
    // Only for a developer's own machine: the page lists live invitation links.
    const mailbox: Provider[] =
      config.env === 'development' && !config.mail.smtpUrl ? [DevMailbox] : [];
    return {
      module: DevModule,
      imports: [RenderingModule],
      providers: [
        ...standIn,
        ...mailbox,
        {
          provide: DEV_MOUNTS,
          useFactory: (
            oidc?: GosuslugiStandIn,
            esiaStandIn?: EsiaStandIn,
            devMailbox?: DevMailbox,
          ): DevMounts =>
            devMounts([
              ...(oidc ? ([[DEV_STAND_IN.path, oidc.router]] as const) : []),
              ...(esiaStandIn ? ([[DEV_STAND_IN.esiaPath, esiaStandIn.router]] as const) : []),
              ...(devMailbox ? ([['/dev/mailbox', devMailbox.router]] as const) : []),
            ]),
          inject: [
            { token: GosuslugiStandIn, optional: true },
            { token: EsiaStandIn, optional: true },
            { token: DevMailbox, optional: true },
          ],
        },
      ],
      exports: [...standIn, DEV_MOUNTS],
    };
  }
}

/** The routers at their paths, as one Express app; what none of them answers is 404. */
function devMounts(routers: readonly (readonly [path: string, router: Router])[]): DevMounts {
  const app = express();
  app.disable('x-powered-by');
  for (const [path, router] of routers) app.use(path, router);
  return {
    paths: routers.map(([path]) => path),
    handle: (req, res) =>
      app(req as express.Request, res as express.Response, () => res.writeHead(404).end()),
  };
}
