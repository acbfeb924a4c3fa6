import { Module } from '@nestjs/common';
import { ListenerHealth } from '../common/listener-health.js';
import { AuthController } from './auth.controller.js';
import { AccountStatus } from './account-status.service.js';
import { AuthService } from './auth.service.js';
import { SessionCache } from './session-cache.js';
import { SessionManagementController } from './session-management.controller.js';
import { SessionManagement } from './session-management.service.js';
import { SessionEndHooks } from './session-end-hooks.js';
import { SessionService } from './session.service.js';
import { TokenService } from './token.service.js';

@Module({
  controllers: [AuthController, SessionManagementController],
  providers: [
    AuthService,
    SessionService,
    SessionCache,
    TokenService,
    SessionManagement,
    SessionEndHooks,
    AccountStatus,
    { provide: ListenerHealth, useExisting: SessionCache },
  ],
  exports: [
    AuthService,
    SessionService,
    TokenService,
    SessionManagement,
    SessionEndHooks,
    AccountStatus,
    ListenerHealth,
  ],
})
export class SessionsModule {}
