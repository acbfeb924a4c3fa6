import { Body, Controller, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { type HttpRequest, type HttpResponse, seeOther } from '../common/http.js';
import { Public } from '../common/auth-decorators.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { GosuslugiService } from '../gosuslugi/gosuslugi.service.js';
import { LOGGED_OUT_PATH } from '../gosuslugi/provider-client.js';
import { safeReturnTo } from '../gosuslugi/return-to.js';
import { Csrf } from '../rendering/csrf.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { LoginSessions } from '../sessions/login-sessions.service.js';
import { clearSessionCookie } from '../sessions/session-cookie.js';
import { LogoutFormDto } from './dto/account-forms.dto.js';
import { PageSessions } from './page-session.js';
import { PublicPage } from './page-routes.js';

/** The front door (/) and the way out (/logout). */
@ApiExcludeController()
@Controller()
export class FrontDoorController {
  constructor(
    private readonly gosuslugi: GosuslugiService,
    private readonly loginSessions: LoginSessions,
    private readonly pageSessions: PageSessions,
    private readonly pages: PageRenderer,
    private readonly config: AppConfig,
    private readonly csrf: Csrf,
  ) {}

  /** Anyone: the cabinet for a signed-in person, the login page for anyone else. */
  @PublicPage()
  async home(@Req() request: HttpRequest, @Res() response: HttpResponse): Promise<void> {
    seeOther(response, (await this.pageSessions.current(request)) ? '/account' : '/login');
  }

  /**
   * Anyone may post «Выйти» (an ended session still clears its cookie), so it is public and checks
   * its form itself: a stale one is refused only while someone is signed in.
   */
  @Post('logout')
  @Public()
  async logout(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
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
    seeOther(response, providerLogout?.href ?? safeReturnTo(form.returnTo) ?? LOGGED_OUT_PATH);
  }
}
