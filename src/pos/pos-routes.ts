import {
  applyDecorators,
  Delete,
  Get,
  HttpCode,
  type HttpStatus,
  Patch,
  Post,
} from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import { PosRoute } from './pos-area.guard.js';

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
