import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { ClientsService } from './clients.service.js';

/**
 * The example diary's client (examples/diary), whose id and secret are public knowledge: which
 * is why it exists only outside production (AppConfig.oidc.devDiaryUrl is null there).
 */
export const DEV_DIARY_CLIENT = {
  clientId: 'diary-example',
  clientSecret: 'diary-example-development-secret',
  name: 'Электронный дневник (пример)',
};

/**
 * Development only: at start, registers the example diary as a confidential first-party client
 * at DEV_DIARY_URL (by default http://localhost:3701), so that `npm start` and
 * `node examples/diary/server.mjs` work together without a `client:create`. Idempotent: a
 * restart, or another instance, finds it and brings its addresses up to date.
 */
@Injectable()
export class DevDiaryClient implements OnApplicationBootstrap {
  private readonly logger = new Logger(DevDiaryClient.name);

  constructor(
    private readonly config: AppConfig,
    private readonly clients: ClientsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const base = this.config.oidc.devDiaryUrl;
    if (this.config.isProduction || base === null) return;
    const created = await this.clients.ensure(
      DEV_DIARY_CLIENT.clientId,
      {
        name: DEV_DIARY_CLIENT.name,
        redirectUris: [`${base}/callback`],
        postLogoutRedirectUris: [`${base}/`],
        backchannelLogoutUri: `${base}/backchannel-logout`,
        firstParty: true,
      },
      DEV_DIARY_CLIENT.clientSecret,
      { via: 'development' },
    );
    this.logger.warn(
      `example diary client (development only) ${created ? 'registered' : 'up to date'}: ` +
        `client_id ${DEV_DIARY_CLIENT.clientId}, client_secret ${DEV_DIARY_CLIENT.clientSecret}, ` +
        `at ${base} (node examples/diary/server.mjs)`,
    );
  }
}
