import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type HttpRequest } from '../common/http.js';
import { Errors } from '../common/errors.js';
import { PosAccess } from './pos-access.service.js';
import { type PosArea } from './roles.js';

export const PosAreaMetadata = Reflector.createDecorator<PosArea>();

/**
 * Runs after the global authentication guard: the caller needs a role of the area and a
 * confirmed membership (403 `confirmation_required` until both first-login boxes are ticked).
 */
@Injectable()
export class PosAreaGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly access: PosAccess,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const area = this.reflector.getAllAndOverride(PosAreaMetadata, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<HttpRequest>();
    if (!area) return true;
    if (!request.auth) throw Errors.unauthenticated();
    await this.access.requireArea(request.auth.user, area);
    return true;
  }
}
