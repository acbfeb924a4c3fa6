import { HttpStatus } from '@nestjs/common';
import { type NextFunction, type Request, type Response } from 'express';
import { DomainError } from './errors.js';

/** Far deeper than any request body needs: every DTO is an object of strings, flags and lists. */
export const MAX_JSON_DEPTH = 32;

/**
 * How deep a parsed body nests, walked with an explicit stack: the depth that would overflow a
 * recursive walk (class-transformer's, in the validation pipe) cannot overflow this one. Stops as
 * soon as it passes `limit`.
 */
export function jsonDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) break;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * A JSON body of 64 KiB can nest 30 000 levels deep; the validation pipe's recursive copy of it
 * then overflows the stack (a 500). Refused here, after the body parser, with a stable code.
 */
export function rejectDeepJson(request: Request, _response: Response, next: NextFunction): void {
  if (jsonDepth(request.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    next(
      new DomainError(
        HttpStatus.BAD_REQUEST,
        'json_too_deep',
        `Слишком глубокая вложенность JSON (не более ${MAX_JSON_DEPTH} уровней)`,
      ),
    );
    return;
  }
  next();
}
