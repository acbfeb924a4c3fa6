import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AccountsController } from './accounts.controller.js';
import { AccountsService } from './accounts.service.js';
import { EmailVerification } from './email-verification.service.js';
import { PasswordContexts } from './password-context.js';
import { RecoveryController } from './recovery.controller.js';
import { RecoveryRequests } from './recovery-requests.service.js';
import { RecoveryService } from './recovery.service.js';

@Module({
  imports: [AuditModule, IdentityModule, SessionsModule],
  controllers: [AccountsController, RecoveryController],
  providers: [
    AccountsService,
    EmailVerification,
    PasswordContexts,
    RecoveryRequests,
    RecoveryService,
  ],
  exports: [AccountsService, EmailVerification, RecoveryService],
})
export class AccountsModule {}
