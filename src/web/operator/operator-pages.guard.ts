import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { type HttpRequest } from '../../common/http.js';
import { PosErrors } from '../../pos/pos.texts.js';

/**
 * The operator's pages are for platform operators only. Runs after the global guard, which has
 * already sent a browser without a session to /login and refused a cross-site form: anyone else
 * signed in gets the 403 page, before a form token or a field is looked at.
 */
@Injectable()
export class OperatorPagesGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<HttpRequest>();
    if (!request.auth?.user.isPlatformOperator) throw PosErrors.notOperator();
    return true;
  }
}
