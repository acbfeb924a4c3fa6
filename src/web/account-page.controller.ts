import { Body, Controller, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type Request, type Response } from 'express';
import { EmailVerification } from '../accounts/email-verification.service.js';
import {
  type AuthContext,
  CurrentAuth,
  type StaleForm,
  type StaleFormPage,
} from '../sessions/auth-context.js';
import { Public } from '../common/auth-decorators.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { GosuslugiLinks } from '../gosuslugi/gosuslugi-links.service.js';
import { GosuslugiService } from '../gosuslugi/gosuslugi.service.js';
import { LOGGED_OUT_PATH } from '../gosuslugi/provider-client.js';
import { safeReturnTo } from '../gosuslugi/return-to.js';
import { LoginSessions } from '../sessions/login-sessions.service.js';
import { type Session } from '../sessions/session.entity.js';
import { clearSessionCookie } from '../sessions/session-cookie.js';
import { SessionManagement } from '../sessions/session-management.service.js';
import { AccountSave } from './account/account-save.js';
import {
  type AccountViewState,
  AccountPageView,
  REAUTHENTICATE_TEXT,
} from './account/account-view.js';
import { Csrf, CsrfFormDto } from '../rendering/csrf.js';
import { AccountFormDto, LogoutFormDto } from './dto/account-forms.dto.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { PageContext } from './page-context.js';
import { PageSessions } from './page-session.js';
import { PageForm, PublicPage, SignedInPage } from './page-routes.js';
import { noticeOf, STALE_FORM } from '../rendering/page.texts.js';
import { ACCOUNT_NOTICES, failure } from './web.texts.js';

/** «Личный кабинет» (/account), the way out (/logout) and the front door (/). */
@ApiExcludeController()
@Controller()
export class AccountPageController implements StaleFormPage {
  constructor(
    private readonly verification: EmailVerification,
    private readonly gosuslugi: GosuslugiService,
    private readonly linking: GosuslugiLinks,
    private readonly loginSessions: LoginSessions,
    private readonly pageSessions: PageSessions,
    private readonly context: PageContext,
    private readonly pages: PageRenderer,
    private readonly config: AppConfig,
    private readonly csrf: Csrf,
    private readonly sessions: SessionManagement,
    private readonly view: AccountPageView,
    private readonly saving: AccountSave,
  ) {}

  /** Anyone: the cabinet for a signed-in person, the login page for anyone else. */
  @PublicPage()
  async home(@Req() request: Request, @Res() response: Response): Promise<void> {
    response.redirect(303, (await this.pageSessions.current(request)) ? '/account' : '/login');
  }

  @SignedInPage('account')
  async page(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Query('notice') notice: unknown,
    @Query('gosuslugi') gosuslugi: unknown,
  ): Promise<void> {
    await this.render(request, response, session, {
      status: 200,
      notice: noticeOf(ACCOUNT_NOTICES, gosuslugi === 'linked' ? 'linked' : notice),
    });
  }

  /** «Сохранить»: phone and e-mail, and the password when its fields are filled in. */
  @PageForm('/account', 'account')
  async save(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() form: AccountFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const outcome = await this.saving.apply(session, form, client);
    if (typeof outcome === 'string') return response.redirect(303, outcome);
    await this.render(request, response, session, outcome);
  }

  /** «Отправить письмо ещё раз» for the pending address. */
  @PageForm('/account', 'account/email/resend')
  resendVerification(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() _form: CsrfFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    return this.act(request, response, session, '/account?notice=verification_sent', () =>
      this.verification.resend(session.user, client, session),
    );
  }

  @PageForm('/account', 'account/gosuslugi/unlink')
  unlink(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() _form: CsrfFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    return this.act(request, response, session, '/account?notice=unlinked#gosuslugi', () =>
      this.linking.unlink(session, client),
    );
  }

  /** «Завершить» beside each of the «Активные сеансы» but the current one (that is «Выйти»). */
  @PageForm('/account', 'account/sessions/:id/end')
  endSession(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Param('id') id: string,
    @Body() _form: CsrfFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    return this.act(request, response, session, '/account?notice=session_ended#sessions', () =>
      this.sessions.endOwn(session, id, client),
    );
  }

  @PageForm('/account', 'account/sessions/end-others')
  endOtherSessions(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() _form: CsrfFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    return this.act(
      request,
      response,
      session,
      '/account?notice=other_sessions_ended#sessions',
      () => this.sessions.endOthers(session, client),
    );
  }

  /** A stale form of the cabinet: the page again, with what was typed into «Сохранить». */
  async staleForm(form: StaleForm): Promise<void> {
    const { request, response, handler, field } = form;
    const { session } = this.context.staleAuth(form);
    await this.render(request, response, session, {
      status: 403,
      ...(handler === 'save' && {
        values: { phone: field('phone') ?? '', email: field('email') ?? '' },
      }),
      notice: { kind: 'error', text: STALE_FORM },
    });
  }

  /** A one-button form of the cabinet (PageContext.act): a refusal is a notice on the page. */
  private act(
    request: Request,
    response: Response,
    session: Session,
    done: string,
    action: () => Promise<unknown>,
  ): Promise<void> {
    return this.context.act(response, done, action, ({ status, code, notice }) =>
      this.render(request, response, session, {
        status,
        notice: code === 'reauthentication_required' ? failure(REAUTHENTICATE_TEXT) : notice,
      }),
    );
  }

  /**
   * Anyone may post «Выйти» (an ended session still clears its cookie), so it is public and checks
   * its form itself: a stale one is refused only while someone is signed in.
   */
  @Post('logout')
  @Public()
  async logout(
    @Req() request: Request,
    @Res() response: Response,
    @Body() form: LogoutFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const fresh = this.csrf.checkForm(request, form.csrf);
    const session = await this.pageSessions.current(request);
    // A forged «Выйти» would only be a nuisance, but it is refused like every other form.
    if (session && !fresh) {
      return this.pages.send(response, 403, 'message', {
        title: 'Страница устарела',
        paragraphs: ['Обновите страницу и нажмите «Выйти» ещё раз.'],
        links: [{ href: '/account', text: 'Личный кабинет' }],
      });
    }
    const providerLogout = session && (await this.gosuslugi.providerLogoutUrl(session));
    if (session) await this.loginSessions.logout(session, client);
    clearSessionCookie(response, this.config);
    this.csrf.rotate(response);
    // Out of the provider too when it holds a session here; otherwise back where asked (the
    // invitation page after «Это не я»), or the login page.
    response.redirect(303, providerLogout?.href ?? safeReturnTo(form.returnTo) ?? LOGGED_OUT_PATH);
  }

  private render(
    request: Request,
    response: Response,
    session: Session,
    view: AccountViewState,
  ): Promise<void> {
    return this.view.render(request, response, session, view);
  }
}
