import {
  applyDecorators,
  type CanActivate,
  type ExecutionContext,
  Injectable,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type HttpRequest, pathOf } from '../common/http.js';
import { Page } from '../common/auth-decorators.js';
import { Errors, LoginRequired } from '../common/errors.js';
import { recentlyAuthenticated } from './session-rules.js';

/** Which requests of the route are highly sensitive; without one, every request is. */
export type SensitiveWhen = (request: HttpRequest) => boolean;

const SensitiveMetadata = Reflector.createDecorator<SensitiveWhen>();

/** Whether a posted `roles` (a JSON array, or a form's one or several checkboxes) names `admin`. */
export function grantsAdmin(request: HttpRequest): boolean {
  const roles: unknown = (request.body as Record<string, unknown> | undefined)?.roles;
  const list = Array.isArray(roles) ? roles : [roles];
  return list.includes('admin');
}

/** A form's `:action` parameter is one of these. */
export function actionIn(...actions: string[]): SensitiveWhen {
  return (request) => actions.includes(String(request.params.action));
}

/**
 * Highly sensitive operations (ASVS 7.5.3): administration that adds administrators or archives,
 * the platform operator's block, archive, operators added or removed, a second factor reset. They
 * need the password (or a second factor, or a Госуслуги login) entered within the rule's
 * window (`recentlyAuthenticated`), whatever the session's age. The API answers 403
 * `reauthentication_required`; a page sends its browser to the login page's «введите пароль ещё
 * раз» (`/login?reauth=1`), which comes back to the page of the action.
 *
 * Runs after the global authentication guard and the route's own access guard: place it above
 * them (decorators apply bottom-up), so a caller without the right gets 403 for that first.
 */
@Injectable()
export class RecentAuthenticationGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const when = this.reflector.get(SensitiveMetadata, context.getHandler());
    const request = context.switchToHttp().getRequest<HttpRequest>();
    if (!when || !when(request)) return true;
    const auth = request.auth;
    if (!auth) throw Errors.unauthenticated();
    if (recentlyAuthenticated(auth.facts)) return true;
    const page = this.reflector.get(Page, context.getHandler());
    if (page) throw new LoginRequired(page.returnTo ?? pathOf(request), true);
    throw Errors.reauthenticationRequired();
  }
}

/** Marks a route (or, with `when`, some of its requests) as highly sensitive: see the guard. */
export function RecentAuthentication(when: SensitiveWhen = () => true) {
  return applyDecorators(SensitiveMetadata(when), UseGuards(RecentAuthenticationGuard));
}
