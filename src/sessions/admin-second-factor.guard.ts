import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Optional,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type HttpRequest } from '../common/http.js';
import { Page } from '../common/auth-decorators.js';
import { SecondFactorEnrolmentRequired } from '../common/errors.js';
import { AppConfig } from '../config/app-config.js';
import { secondFactorStep } from './second-factor-rules.js';
import { SecondFactorErrors } from './second-factor.texts.js';
import { SecondFactors } from './second-factors.service.js';
import { AuthMethod } from './session.entity.js';
import { STAFF_ROLES, type StaffRolesSource } from './staff-roles.js';

/** Where a page sends an administrator who must enrol (the «Двухфакторная аутентификация» page). */
export const ENROLMENT_PAGE = '/account/mfa?notice=required';

/**
 * MFA_REQUIRED_FOR_ADMINS is asked at login (secondFactorStep), but an administrator's password
 * session opened before the policy was turned on, or before the account became an administrator,
 * has no factor behind it. On every request of the administration area (the API's admin routes
 * and the «Администратор ЛКО» pages) this asks the same rule again with what is true now: an
 * administrator whose password session proved no factor and who has none enrolled is sent to
 * enrol (a page: `/account/mfa`; the API: 403 `mfa_enrolment_required`). A Госуслуги session
 * passes (ЕСИА's own second factor), and so does one whose account enrolled a factor — TOTP or a
 * passkey, as at login — since the login (a TOTP enrolment takes a current code, a key is added
 * only in a fresh session). Platform operators are held by the session rules.
 */
@Injectable()
export class AdminSecondFactorGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
    private readonly factors: SecondFactors,
    @Optional() @Inject(STAFF_ROLES) private readonly staffRoles?: StaffRolesSource,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const policy = this.config.mfa;
    const facts = context.switchToHttp().getRequest<HttpRequest>().auth?.facts;
    if (!policy.requiredForAdmins || !this.staffRoles || !facts) return true;
    if (facts.method !== AuthMethod.Password || facts.secondFactor !== null || facts.operator)
      return true;
    const step = secondFactorStep(
      {
        enrolled: await this.factors.any(facts.userId),
        operator: false,
        administrator: await this.staffRoles.isAdministrator(facts.userId),
      },
      policy,
    );
    if (step !== 'enrol') return true;
    if (this.reflector.get(Page, context.getHandler()))
      throw new SecondFactorEnrolmentRequired(ENROLMENT_PAGE);
    throw SecondFactorErrors.enrolmentRequired();
  }
}
