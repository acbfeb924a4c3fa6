import { type CanActivate, type ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { type HttpRequest, headerOf, pathOf, routeOf } from './http.js';
import { DomainError } from './errors.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The member import's file is its body: CSV or XLSX, types a cross-site form cannot send either
 * (only urlencoded, multipart and text/plain go without a preflight), so the rule holds.
 */
const FILE_ROUTE = /^\/api\/v1\/pos\/organizations\/:[^/]+\/members\/import$/;
const FILE_TYPES =
  /^(text\/csv|application\/vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet)\s*(;|$)/i;

/**
 * The JSON API takes JSON only. A page on another site can make a browser send a form
 * (urlencoded, multipart or text/plain) without asking anyone, but not an `application/json`
 * request: that needs a CORS preflight, which this service never grants. So no cross-site form can
 * reach an API write — not even the public ones, such as a login that would sign the browser into
 * the attacker's account (login CSRF). Server-rendered forms post to the page routes instead.
 */
@Injectable()
export class JsonApiGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const request = context.switchToHttp().getRequest<HttpRequest>();
    // Decided by the route reached, whatever spelling of its path the request used.
    const route = routeOf(request) ?? pathOf(request);
    if (!WRITES.has(request.method) || !route.startsWith('/api/')) return true;
    const type = headerOf(request, 'content-type');
    if (type === undefined || /^application\/json\s*(;|$)/i.test(type)) return true;
    if (FILE_ROUTE.test(route) && FILE_TYPES.test(type)) return true;
    throw new DomainError(
      HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      'unsupported_media_type',
      'API принимает только запросы в формате JSON (Content-Type: application/json)',
    );
  }
}
