import { Body, Param, Query, Res } from '@nestjs/common';
import { type HttpResponse, seeOther } from '../../common/http.js';
import { MemberSessions } from '../../pos/member-sessions.service.js';
import { MemberActionFormDto } from '../dto/pos-admin-forms.dto.js';
import { PageContext } from '../page-context.js';
import { PageForm, SignedInPage } from '../page-routes.js';
import { noticeOf, STALE_FORM } from '../../rendering/page.texts.js';
import { type StaleForm, type StaleFormPage } from '../../sessions/auth-context.js';
import { ADMIN_NOTICES } from '../web.texts.js';
import { AdminPages } from './admin-pages.js';
import { type AdminView, memberSessionsUrl, PosAdminView } from './admin-view.js';
import { ID } from '../../common/ids.js';
import { Call, type PageCall } from '../page-call.js';

/** One member's «Активные сеансы» in /pos/admin, and «Завершить все сеансы». */
@AdminPages('pos/admin/members')
export class PosMemberSessionsPageController implements StaleFormPage {
  constructor(
    private readonly memberSessions: MemberSessions,
    private readonly view: PosAdminView,
    private readonly context: PageContext,
  ) {}

  /**
   * A member's «Активные сеансы»: the sessions of the person bound to the account, which the
   * administrator may end (the same service and rules as `GET /api/v1/pos/members/:id/sessions`:
   * the account in the subtree, and every live account of the person too).
   */
  @SignedInPage(':id/sessions')
  async memberSessionsPage(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id', ID) id: string,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    let overview: AdminView['memberSessions'];
    try {
      overview = await this.memberSessions.overview(session.user, session.id, id, client);
    } catch (error) {
      return this.view.refused(request, response, session, error, { tab: 'members' });
    }
    await this.view.render(request, response, session, {
      status: 200,
      tab: 'members',
      organizationId: overview.member.organizationId,
      notice: noticeOf(ADMIN_NOTICES, notice),
      memberSessions: overview,
    });
  }

  /** «Завершить все сеансы» of a member's person (`DELETE /api/v1/pos/members/:id/sessions`). */
  @PageForm('/pos/admin', ':id/sessions/end')
  async endMemberSessions(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id', ID) id: string,
    @Body() form: MemberActionFormDto,
  ): Promise<void> {
    try {
      await this.memberSessions.endAll(session.user, id, client);
    } catch (error) {
      return this.view.refused(request, response, session, error, {
        tab: 'members',
        organizationId: form.organizationId,
      });
    }
    seeOther(response, memberSessionsUrl(id, 'sessions_ended'));
  }

  /** A stale «Завершить все сеансы»: the members tab again, in its organisation. */
  async staleForm(form: StaleForm): Promise<void> {
    const { request, response, field } = form;
    const { session } = this.context.staleAuth(form);
    await this.view.render(request, response, session, {
      status: 403,
      tab: 'members',
      organizationId: field('organizationId'),
      notice: { kind: 'error', text: STALE_FORM },
    });
  }
}
