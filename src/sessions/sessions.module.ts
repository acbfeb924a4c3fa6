import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module.js';
import { IdentityModule } from '../identity/identity.module.js';
import { ListenerHealth } from '../common/listener-health.js';
import { AuthController } from './auth.controller.js';
import { SecondFactorController } from './second-factor.controller.js';
import { MfaController } from './mfa.controller.js';
import { AccountStatus } from './account-status.service.js';
import { LoginChallenges } from './login-challenges.service.js';
import { LoginQueries } from './login-queries.service.js';
import { LoginSessions } from './login-sessions.service.js';
import { PasswordChecks } from './password-checks.service.js';
import { PasswordLogin } from './password-login.service.js';
import { SecondFactors } from './second-factors.service.js';
import { Passkeys } from './passkeys.service.js';
import { PasskeyChallenges } from './passkey-challenges.service.js';
import { PasskeysController } from './passkeys.controller.js';
import { MfaEnrolment } from './mfa-enrolment.service.js';
import { MfaReset } from './mfa-reset.service.js';
import { SecondFactorLogin } from './second-factor-login.service.js';
import { SessionCache } from './session-cache.js';
import { SessionStore } from './session-store.js';
import { SessionManagementController } from './session-management.controller.js';
import { SessionManagement } from './session-management.service.js';
import { SessionEndHooks } from './session-end-hooks.js';
import { SessionService } from './session.service.js';
import { TokenService } from './token.service.js';
import { RequestAuthentication } from './request-authentication.js';
import { RequestAccount } from '../throttling/signed-in.js';

@Module({
  imports: [AuditModule, IdentityModule],
  controllers: [
    AuthController,
    SessionManagementController,
    SecondFactorController,
    MfaController,
    PasskeysController,
  ],
  providers: [
    PasswordChecks,
    LoginQueries,
    LoginSessions,
    PasswordLogin,
    SessionService,
    SessionStore,
    SessionCache,
    TokenService,
    SessionManagement,
    SessionEndHooks,
    AccountStatus,
    LoginChallenges,
    SecondFactors,
    Passkeys,
    PasskeyChallenges,
    MfaEnrolment,
    MfaReset,
    SecondFactorLogin,
    { provide: ListenerHealth, useExisting: SessionCache },
    RequestAuthentication,
    { provide: RequestAccount, useExisting: RequestAuthentication },
  ],
  exports: [
    PasswordChecks,
    LoginSessions,
    PasswordLogin,
    SessionService,
    TokenService,
    SessionManagement,
    SessionEndHooks,
    AccountStatus,
    ListenerHealth,
    LoginChallenges,
    SecondFactors,
    Passkeys,
    MfaEnrolment,
    MfaReset,
    SecondFactorLogin,
    RequestAuthentication,
    RequestAccount,
  ],
})
export class SessionsModule {}
