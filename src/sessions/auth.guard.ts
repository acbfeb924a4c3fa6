import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Request } from 'express';
import { accessDecision } from '../common/auth-decorators.js';
import { Errors } from '../common/errors.js';
import { AppConfig } from '../config/app-config.js';
import { assertSameOrigin } from './same-origin.js';
import { SessionService } from './session.service.js';

/**
 * The one global guard. Routes are denied unless marked @Public(); every other route needs a live
 * session, proved by the session cookie or by an access token whose session is still live.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionService,
    private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return false;
    if (accessDecision(this.reflector, context) === 'public') return true;
    const request = context.switchToHttp().getRequest<Request>();
    const auth = await this.sessions.authenticate(request);
    if (!auth) throw Errors.unauthenticated();
    if (auth.via === 'cookie') assertSameOrigin(request, this.config.publicUrl);
    request.auth = auth;
    return true;
  }
}
