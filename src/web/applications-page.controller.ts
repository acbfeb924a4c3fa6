import { Body, Controller, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type HttpResponse } from '../common/http.js';
import { ConsentsService } from '../provider/consents.service.js';
import { describeAccess } from '../provider/provider.texts.js';
import { CsrfFormDto } from '../rendering/csrf.js';
import { PageContext } from './page-context.js';
import { moscowTime } from './session-rows.js';
import { APPLICATIONS_NOTICES } from './web.texts.js';
import { FormPage, type FormPageState } from './form-page.js';
import { PageForm } from './page-routes.js';
import { Call, type PageCall } from './page-call.js';

/**
 * «Приложения» in «Личный кабинет»: the applications with access to the account (what they
 * receive, since when) and «Отозвать доступ» for those the person allowed on the consent page.
 * First-party applications are listed as the platform's own, without the button: the operator
 * gave them access, and the next sign-in would give it back without asking.
 */
@ApiExcludeController()
@Controller('account/applications')
export class ApplicationsPageController extends FormPage {
  constructor(
    private readonly consents: ConsentsService,
    context: PageContext,
  ) {
    super(context, APPLICATIONS_NOTICES);
  }

  /** «Отозвать доступ»: the consent, the grants and every token of the application go. */
  @PageForm('/account/applications', ':id/revoke')
  async revoke(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id') clientId: string,
    @Body() _form: CsrfFormDto,
  ): Promise<void> {
    await this.act(request, response, session, '/account/applications?notice=revoked', () =>
      this.consents.revoke(session.user.id, clientId, client),
    );
  }

  protected async render(page: FormPageState): Promise<void> {
    const { request, response, session, status, notice } = page;
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
