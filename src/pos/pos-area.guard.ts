import {
  applyDecorators,
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type Request } from 'express';
import { Authenticated } from '../common/auth-decorators.js';
import { Errors } from '../common/errors.js';
import { AdminSecondFactorGuard } from '../sessions/admin-second-factor.guard.js';
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
    const request = context.switchToHttp().getRequest<Request>();
    if (!area) return true;
    if (!request.auth) throw Errors.unauthenticated();
    await this.access.requireArea(request.auth.user, area);
    return true;
  }
}

/**
 * A ПОС route of the admin area («Администратор ЛКО») or the back office; the admin area also
 * holds an administrator without the second factor MFA_REQUIRED_FOR_ADMINS requires.
 */
export function PosRoute(area: PosArea) {
  return applyDecorators(
    Authenticated(),
    PosAreaMetadata(area),
    area === 'admin' ? UseGuards(PosAreaGuard, AdminSecondFactorGuard) : UseGuards(PosAreaGuard),
  );
}
