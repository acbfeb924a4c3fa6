import { Body, Controller, Param, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type HttpResponse, seeOther } from '../../common/http.js';
import { type StaleForm, type StaleFormPage } from '../../sessions/auth-context.js';
import { UserStatus } from '../../identity/user.entity.js';
import { OperatorRoster } from '../../pos/operator-roster.service.js';
import { OperatorUsers } from '../../pos/operator-users.service.js';
import { STALE_FORM } from '../../rendering/page.texts.js';
import { actionIn, RecentAuthentication } from '../../sessions/recent-authentication.guard.js';
import {
  AddOperatorFormDto,
  OperatorFormDto,
  USER_ACTIONS,
  type UserAction,
  UserActionFormDto,
} from './dto/operator-forms.dto.js';
import { OperatorPagesGuard } from './operator-pages.guard.js';
import { operatorUrl, OperatorView } from './operator-view.js';
import { type OperatorTab } from './operator.texts.js';
import { PageForm } from '../page-routes.js';
import { ID } from '../../common/ids.js';
import { Call, type PageCall } from '../page-call.js';

/** What each user action does, and the notice it ends with. */
const USER_ACTION_STATUS: Record<Exclude<UserAction, 'end-sessions' | 'mfa-reset'>, UserStatus> = {
  block: UserStatus.Blocked,
  unblock: UserStatus.Active,
  archive: UserStatus.Archived,
};
const USER_ACTION_NOTICE: Record<UserAction, string> = {
  block: 'blocked',
  unblock: 'unblocked',
  archive: 'archived',
  'end-sessions': 'sessions_ended',
  'mfa-reset': 'mfa_reset',
};

/** The tab each form is on, to show it again when it is stale. */
const STALE_FORM_TABS: Record<string, OperatorTab> = {
  addOperator: 'operators',
  removeOperator: 'operators',
  userAction: 'users',
};

/**
 * /pos/operator, the people: operators (add an existing account, remove one — never the last) and
 * accounts (block, unblock, archive, «Завершить все сеансы»). The same services as the command
 * line, audited with the operator's id and address. The applications are
 * OperatorClientsController's.
 */
@ApiExcludeController()
@Controller('pos/operator')
@UseGuards(OperatorPagesGuard)
export class OperatorPeopleController implements StaleFormPage {
  constructor(
    private readonly roster: OperatorRoster,
    private readonly users: OperatorUsers,
    private readonly view: OperatorView,
  ) {}

  @RecentAuthentication()
  @PageForm('/pos/operator?tab=operators', 'operators')
  async addOperator(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: AddOperatorFormDto,
  ): Promise<void> {
    try {
      await this.roster.grant(session.user, form.login, client);
    } catch (error) {
      return this.view.failed(request, response, session, error, {
        tab: 'operators',
        values: { ...form },
      });
    }
    seeOther(response, operatorUrl('operators', { notice: 'operator_added' }));
  }

  @RecentAuthentication()
  @PageForm('/pos/operator?tab=operators', 'operators/:id/remove')
  async removeOperator(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id', ID) id: string,
    @Body() _form: OperatorFormDto,
  ): Promise<void> {
    try {
      await this.roster.revoke(session.user, id, client);
    } catch (error) {
      return this.view.failed(request, response, session, error, { tab: 'operators' });
    }
    seeOther(response, operatorUrl('operators', { notice: 'operator_removed' }));
  }

  /**
   * «Заблокировать», «Разблокировать», «В архив», «Завершить все сеансы», «Сбросить второй
   * фактор» (after the operator's identity proofing, SECURITY.md threat 14). Block, archive and the
   * reset need a recent authentication (RecentAuthentication).
   */
  @RecentAuthentication(actionIn('block', 'archive', 'mfa-reset'))
  @PageForm('/pos/operator?tab=users', 'users/:id/:action')
  async userAction(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id', ID) id: string,
    @Param('action') action: string,
    @Body() form: UserActionFormDto,
  ): Promise<void> {
    const known = USER_ACTIONS.find((candidate) => candidate === action);
    if (!known) return this.view.notFound(response);
    try {
      if (known === 'end-sessions') await this.users.endSessions(session.user, id, client);
      else if (known === 'mfa-reset') await this.users.resetSecondFactor(session.user, id, client);
      else await this.users.changeStatus(session.user, id, USER_ACTION_STATUS[known], client);
    } catch (error) {
      return this.view.failed(request, response, session, error, { tab: 'users', q: form.q });
    }
    seeOther(response, operatorUrl('users', { q: form.q, notice: USER_ACTION_NOTICE[known] }));
  }

  async staleForm({ request, response, auth, handler, field }: StaleForm): Promise<void> {
    if (!auth) throw new Error('an operator form without a session');
    await this.view.render(request, response, auth.session, {
      status: 403,
      tab: STALE_FORM_TABS[handler] ?? 'organizations',
      q: field('q'),
      notice: { kind: 'error', text: STALE_FORM },
    });
  }
}
