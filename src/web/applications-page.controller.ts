import { Body, Controller, Param, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type Request, type Response } from 'express';
import {
  type AuthContext,
  CurrentAuth,
  type StaleForm,
  type StaleFormPage,
} from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { ConsentsService } from '../provider/consents.service.js';
import { describeAccess } from '../provider/provider.texts.js';
import { type Session } from '../sessions/session.entity.js';
import { CsrfFormDto } from '../rendering/csrf.js';
import { PageContext } from './page-context.js';
import { moscowTime } from './session-rows.js';
import { APPLICATIONS_NOTICES } from './web.texts.js';
import { noticeOf, type Notice, STALE_FORM } from '../rendering/page.texts.js';
import { PageForm, SignedInPage } from './page-routes.js';

/**
 * «Приложения» in «Личный кабинет»: the applications with access to the account (what they
 * receive, since when) and «Отозвать доступ» for those the person allowed on the consent page.
 * First-party applications are listed as the platform's own, without the button: the operator
 * gave them access, and the next sign-in would give it back without asking.
 */
@ApiExcludeController()
@Controller('account/applications')
export class ApplicationsPageController implements StaleFormPage {
  constructor(
    private readonly consents: ConsentsService,
    private readonly context: PageContext,
  ) {}

  @SignedInPage()
  async page(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    await this.render(request, response, session, 200, noticeOf(APPLICATIONS_NOTICES, notice));
  }

  /** «Отозвать доступ»: the consent, the grants and every token of the application go. */
  @PageForm('/account/applications', ':id/revoke')
  async revoke(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Param('id') clientId: string,
    @Body() _form: CsrfFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    try {
      await this.consents.revoke(session.user.id, clientId, client);
    } catch (error) {
      const { status, notice } = this.context.refusal(error);
      return this.render(request, response, session, status, notice);
    }
    response.redirect(303, '/account/applications?notice=revoked');
  }

  async staleForm(form: StaleForm): Promise<void> {
    const { session } = this.context.staleAuth(form);
    await this.render(form.request, form.response, session, 403, {
      kind: 'error',
      text: STALE_FORM,
    });
  }

  private async render(
    request: Request,
    response: Response,
    session: Session,
    status: number,
    notice?: Notice,
  ): Promise<void> {
    const applications = await this.consents.list(session.user.id);
    await this.context.send(request, response, session, 'account', status, 'applications', {
      applications: applications.map((application) => ({
        ...application,
        receives: describeAccess(application.scopes, application.claims),
        since: moscowTime(application.since.toISOString()),
      })),
      notice,
    });
  }
}
