import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { type HttpRequest, type HttpResponse } from '../common/http.js';
import { type Observable, of } from 'rxjs';
import { routeAccess } from '../common/auth-decorators.js';
import { type StaleForm, type StaleFormPage } from '../sessions/auth-context.js';
import { Csrf } from './csrf.js';
import { PageRenderer } from './page-renderer.js';
import { STALE_PAGE } from './page.texts.js';

function hasHook(controller: unknown): controller is StaleFormPage {
  return (
    typeof controller === 'object' &&
    controller !== null &&
    typeof (controller as Partial<StaleFormPage>).staleForm === 'function'
  );
}

/**
 * The form-token step of every @FormPost(), after the guard (Origin, then the session of a page):
 * the double-submit token must match the browser's cookie, or the handler is not run and the
 * controller's `staleForm` hook answers (a generic «Страница устарела» page without one).
 */
@Injectable()
export class FormTokenInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly csrf: Csrf,
    private readonly pages: PageRenderer,
    private readonly moduleRef: ModuleRef,
  ) {}

  intercept(
    context: ExecutionContext,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    // Every route but a form post (the API, GET pages, health) passes straight on, without a
    // promise: the route's decorators are read once per handler.
    if (context.getType() !== 'http' || !routeAccess(this.reflector, context).formPost)
      return next.handle();
    return this.checkFormToken(context, next);
  }

  private async checkFormToken(
    context: ExecutionContext,
    next: CallHandler,
  ): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<HttpRequest>();
    const response = context.switchToHttp().getResponse<HttpResponse>();
    const body: unknown = request.body;
    const field = (name: string): string | undefined => {
      const value: unknown =
        typeof body === 'object' && body !== null && Object.hasOwn(body, name)
          ? (body as Record<string, unknown>)[name]
          : undefined;
      return typeof value === 'string' ? value : undefined;
    };
    if (this.csrf.valid(request, field('csrf'))) return next.handle();
    const controller: unknown = this.moduleRef.get(context.getClass(), { strict: false });
    const stale: StaleForm = {
      request,
      response,
      auth: request.auth ?? null,
      handler: context.getHandler().name,
      field,
    };
    if (hasHook(controller)) await controller.staleForm(stale);
    else this.pages.send(response, 403, 'message', STALE_PAGE);
    return of(undefined);
  }
}
