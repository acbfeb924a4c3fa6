import {
  applyDecorators,
  Delete,
  Get,
  HttpCode,
  type HttpStatus,
  Patch,
  Post,
  UseGuards,
} from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { Authenticated } from '../common/auth-decorators.js';
import { AdminSecondFactorGuard } from '../sessions/admin-second-factor.guard.js';
import { PosAreaGuard, PosAreaMetadata } from './pos-area.guard.js';
import { type PosArea } from './roles.js';

/** A route (or a page's form) held by PosAreaGuard: a role of `area` and a confirmed membership. */
export function PosArea(area: PosArea) {
  return applyDecorators(PosAreaMetadata(area), UseGuards(PosAreaGuard));
}

/**
 * A ПОС route of the admin area («Администратор ЛКО») or the back office; the admin area also
 * holds an administrator without the second factor MFA_REQUIRED_FOR_ADMINS requires.
 */
export function PosRoute(area: PosArea) {
  return applyDecorators(
    Authenticated(),
    PosArea(area),
    ...(area === 'admin' ? [UseGuards(AdminSecondFactorGuard)] : []),
  );
}

const VERBS = { get: Get, post: Post, patch: Patch, delete: Delete };

/**
 * A route of the admin area's API («Администратор ЛКО», PosRoute('admin')): its verb and path,
 * its summary in the docs, and its status where it is not the verb's own.
 */
export function AdminRoute(
  verb: keyof typeof VERBS,
  path: string,
  summary: string,
  status?: HttpStatus,
) {
  return applyDecorators(
    VERBS[verb](path),
    PosRoute('admin'),
    ...(status === undefined ? [] : [HttpCode(status)]),
    ApiOperation({ summary }),
  );
}
