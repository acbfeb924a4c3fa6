import { Body, Controller, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type HttpResponse, seeOther } from '../common/http.js';
import { EmailVerification } from '../accounts/email-verification.service.js';
import { type StaleForm } from '../sessions/auth-context.js';
import { GosuslugiLinks } from '../gosuslugi/gosuslugi-links.service.js';
import { SessionManagement } from '../sessions/session-management.service.js';
import { AccountSave } from './account/account-save.js';
import {
  type AccountViewState,
  AccountPageView,
  REAUTHENTICATE_TEXT,
} from './account/account-view.js';
import { CsrfFormDto } from '../rendering/csrf.js';
import { AccountFormDto } from './dto/account-forms.dto.js';
import { type FormRefusal, PageContext } from './page-context.js';
import { PageForm } from './page-routes.js';
import { type Notice, noticeOf, STALE_FORM } from '../rendering/page.texts.js';
import { ACCOUNT_NOTICES, failure } from './web.texts.js';
import { Call, type PageCall } from './page-call.js';
import { FormPage, type FormPageState, type PageQuery } from './form-page.js';

/** What the cabinet is drawn with besides a FormPageState: a refused save's fields and errors. */
type AccountExtra = Omit<AccountViewState, 'status' | 'notice'>;

/** «Личный кабинет» (/account): the profile, Госуслуги, the e-mail and the sessions. */
@ApiExcludeController()
@Controller('account')
export class AccountPageController extends FormPage<AccountExtra> {
  constructor(
    private readonly verification: EmailVerification,
    private readonly linking: GosuslugiLinks,
    private readonly sessions: SessionManagement,
    private readonly view: AccountPageView,
    private readonly saving: AccountSave,
    context: PageContext,
  ) {
    super(context, ACCOUNT_NOTICES);
  }

  /** «Сохранить»: phone and e-mail, and the password when its fields are filled in. */
  @PageForm('/account')
  async save(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: AccountFormDto,
  ): Promise<void> {
    const outcome = await this.saving.apply(session, form, client);
    if (typeof outcome === 'string') return seeOther(response, outcome);
    const { status, notice, ...extra } = outcome;
    await this.render({ request, response, session, status, notice }, extra);
  }

  /** «Отправить письмо ещё раз» for the pending address. */
  @PageForm('/account', 'email/resend')
  resendVerification(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() _form: CsrfFormDto,
  ): Promise<void> {
    return this.act(request, response, session, '/account?notice=verification_sent', () =>
      this.verification.resend(session.user, client, session),
    );
  }

  @PageForm('/account', 'gosuslugi/unlink')
  unlink(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() _form: CsrfFormDto,
  ): Promise<void> {
    return this.act(request, response, session, '/account?notice=unlinked#gosuslugi', () =>
      this.linking.unlink(session, client),
    );
  }

  /** «Завершить» beside each of the «Активные сеансы» but the current one (that is «Выйти»). */
  @PageForm('/account', 'sessions/:id/end')
  endSession(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Param('id') id: string,
    @Body() _form: CsrfFormDto,
  ): Promise<void> {
    return this.act(request, response, session, '/account?notice=session_ended#sessions', () =>
      this.sessions.endOwn(session, id, client),
    );
  }

  @PageForm('/account', 'sessions/end-others')
  endOtherSessions(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() _form: CsrfFormDto,
  ): Promise<void> {
    const done = '/account?notice=other_sessions_ended#sessions';
    return this.act(request, response, session, done, () =>
      this.sessions.endOthers(session, client),
    );
  }

  /** A stale form of the cabinet: the page again, with what was typed into «Сохранить». */
  override async staleForm(form: StaleForm): Promise<void> {
    const { request, response, handler, field } = form;
    const { session } = this.context.staleAuth(form);
    const values = { phone: field('phone') ?? '', email: field('email') ?? '' };
    await this.render(
      { request, response, session, status: 403, notice: failure(STALE_FORM) },
      handler === 'save' ? { values } : {},
    );
  }

  /** Back from linking Госуслуги (`?gosuslugi=linked`), or the notice `?notice=` names. */
  protected override pageNotice(query: PageQuery): Notice | undefined {
    return noticeOf(ACCOUNT_NOTICES, query.gosuslugi === 'linked' ? 'linked' : query.notice);
  }

  /** A refusal for want of a recent login says how to give one. */
  protected override refusalNotice(refusal: FormRefusal): Notice {
    return refusal.code === 'reauthentication_required'
      ? failure(REAUTHENTICATE_TEXT)
      : refusal.notice;
  }

  protected render(page: FormPageState, extra: Partial<AccountExtra>): Promise<void> {
    const { request, response, session, status, notice } = page;
    return this.view.render(request, response, session, { status, notice, ...extra });
  }
}
