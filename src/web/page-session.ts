import { Injectable } from '@nestjs/common';
import { type HttpRequest, type HttpResponse } from '../common/http.js';
import { PosAccess } from '../pos/pos-access.service.js';
import { type Session } from '../sessions/session.entity.js';
import { SessionService } from '../sessions/session.service.js';
import { Csrf } from '../rendering/csrf.js';

export type NavSection = 'account' | 'pos' | 'admin' | 'operator';

export interface Nav {
  login: string;
  /** The ФИО (from Госуслуги, or as the account has it), when the account has one. */
  name: string | null;
  csrf: string;
  admin: boolean;
  /** A platform operator: the «Оператор платформы» link. */
  operator: boolean;
  current?: NavSection;
}

/**
 * What pages show of the signed-in person. A page that needs one is a @Page() route: the guard
 * loads its session (or sends the browser to /login); `current` is for the public pages that only
 * look whether someone is signed in (the front door, registration, «Выйти»).
 */
@Injectable()
export class PageSessions {
  constructor(
    private readonly sessions: SessionService,
    private readonly access: PosAccess,
    private readonly csrf: Csrf,
  ) {}

  current(request: HttpRequest): Promise<Session | null> {
    return this.sessions.fromCookie(request);
  }

  /** The header menu: who is signed in, the form token for «Выйти», the admin link. */
  async nav(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    current?: NavSection,
  ): Promise<Nav> {
    const user = session.user;
    const admin =
      user.isPlatformOperator ||
      (await this.access.memberships(user)).some((m) => m.roles.includes('admin'));
    const name = [user.lastName, user.firstName, user.middleName].filter(Boolean).join(' ');
    return {
      login: user.login,
      name: name || null,
      csrf: this.csrf.token(request, response),
      admin,
      operator: user.isPlatformOperator,
      current,
    };
  }
}
