import { applyDecorators, Controller, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { AdminSecondFactorGuard } from '../../sessions/admin-second-factor.guard.js';

/**
 * A controller of «Администратор ЛКО» pages at `path` (under /pos/admin): left out of the API
 * description, and held by AdminSecondFactorGuard (MFA_REQUIRED_FOR_ADMINS asked on every request)
 * as PosRoute('admin') holds the API. The route inventory fails on a route of the area without it.
 */
export function AdminPages(path: 'pos/admin' | `pos/admin/${string}`): ClassDecorator {
  return applyDecorators(
    ApiExcludeController(),
    Controller(path),
    UseGuards(AdminSecondFactorGuard),
  );
}
