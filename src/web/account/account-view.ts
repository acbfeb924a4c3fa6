import { Injectable } from '@nestjs/common';
import { type HttpRequest, type HttpResponse } from '../../common/http.js';
import { AccountsService } from '../../accounts/accounts.service.js';
import { describePolicy } from '../../accounts/password-policy.js';
import { type FieldErrors } from '../../common/errors.js';
import { MfaEnrolment } from '../../sessions/mfa-enrolment.service.js';
import { type Session } from '../../sessions/session.entity.js';
import { SessionManagement } from '../../sessions/session-management.service.js';
import { recentlyAuthenticated } from '../../sessions/session-rules.js';
import { PageContext } from '../page-context.js';
import { PageRenderer } from '../../rendering/page-renderer.js';
import { sessionRow } from '../session-rows.js';
import { type Notice } from '../../rendering/page.texts.js';

/** What a page says when an action needs a login within the last 10 minutes. */
export const REAUTHENTICATE_TEXT =
  'Для этого изменения подтвердите, что это вы: войдите ещё раз (кнопка «Выйти», затем вход по паролю или через Госуслуги) и сразу повторите.';

export interface AccountViewState {
  status: number;
  notice?: Notice;
  errors?: FieldErrors;
  values?: { phone?: string; email?: string };
}

/** «Личный кабинет» as the page shows it: the profile, the sessions, the second factor. */
@Injectable()
export class AccountPageView {
  constructor(
    private readonly accounts: AccountsService,
    private readonly context: PageContext,
    private readonly pages: PageRenderer,
    private readonly sessions: SessionManagement,
    private readonly mfa: MfaEnrolment,
  ) {}

  async render(
    request: HttpRequest,
    response: HttpResponse,
    session: Session,
    view: AccountViewState,
  ): Promise<void> {
    const user = session.user;
    const profile = await this.accounts.profile(user);
    const identity = profile.identities.find((i) => i.provider === 'gosuslugi');
    this.pages.send(response, view.status, 'account', {
      pageUrl: '/account',
      ...(await this.context.header(request, response, session, 'account')),
      profile,
      pendingEmail: profile.pendingEmail,
      values: view.values ?? {
        phone: profile.phone ?? '',
        email: profile.pendingEmail ?? profile.email ?? '',
      },
      hasPassword: await this.accounts.hasPassword(user),
      // Ending other sessions needs a recent login; until then the page offers the way to it.
      mayEndSessions: recentlyAuthenticated(session),
      sessions: (await this.sessions.list(user, session.id)).map(sessionRow),
      gosuslugi: identity && {
        ...identity,
        linkedAt: new Date(identity.linkedAt).toLocaleDateString('ru-RU', {
          timeZone: 'Europe/Moscow',
        }),
      },
      mfa: await this.mfa.status(user.id),
      rules: describePolicy().rules,
      errors: view.errors ?? {},
      notice: view.notice,
    });
  }
}
