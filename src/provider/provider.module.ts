import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { PosCoreModule } from '../pos/pos.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { RenderingModule } from '../rendering/rendering.module.js';
import { ProviderAccounts } from './claims.js';
import { BackchannelDelivery } from './backchannel-delivery.js';
import { BackchannelLogout } from './backchannel-logout.js';
import { ClientsService } from './clients.service.js';
import { ConsentsService } from './consents.service.js';
import { DevDiaryClient } from './dev-diary-client.js';
import { InteractionsController } from './interactions.controller.js';
import { ProviderService } from './provider.service.js';
import { ProviderSessionLinks } from './session-link.js';

/** Identity Link as an OpenID Provider (docs/oidc.md). */
@Module({
  imports: [AuditModule, IdentityModule, SessionsModule, RenderingModule, PosCoreModule],
  controllers: [InteractionsController],
  providers: [
    ProviderService,
    ClientsService,
    ProviderAccounts,
    ConsentsService,
    ProviderSessionLinks,
    BackchannelLogout,
    BackchannelDelivery,
    DevDiaryClient,
  ],
  exports: [ProviderService, ClientsService, ConsentsService],
})
export class ProviderModule {}
