import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { RenderingModule } from '../rendering/rendering.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { GosuslugiController } from './gosuslugi.controller.js';
import { GosuslugiInvitations } from './gosuslugi-invitations.service.js';
import { GosuslugiLinks } from './gosuslugi-links.service.js';
import { GosuslugiLogin } from './gosuslugi-login.service.js';
import { GosuslugiRefresh } from './gosuslugi-refresh.service.js';
import { GosuslugiService } from './gosuslugi.service.js';
import { LoginTransactions } from './login-transactions.service.js';
import { AppConfig } from '../config/app-config.js';
import { PersonalDataKey } from '../identity/personal-data-key.service.js';
import { EsiaClient } from './esia/esia-client.js';
import { OidcClient } from './oidc-client.js';
import { IDENTITY_PROVIDER_CLIENT } from './provider-client.js';

@Module({
  imports: [AuditModule, IdentityModule, SessionsModule, RenderingModule],
  controllers: [GosuslugiController],
  exports: [GosuslugiService, GosuslugiLinks, GosuslugiInvitations],
  providers: [
    GosuslugiService,
    GosuslugiLogin,
    GosuslugiLinks,
    GosuslugiInvitations,
    GosuslugiRefresh,
    LoginTransactions,
    {
      provide: IDENTITY_PROVIDER_CLIENT,
      useFactory: (config: AppConfig, personalData: PersonalDataKey) =>
        config.gosuslugi.profile === 'esia'
          ? new EsiaClient(config, personalData)
          : new OidcClient(config, personalData),
      inject: [AppConfig, PersonalDataKey],
    },
  ],
})
export class GosuslugiModule {}
