import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type HttpRequest, type HttpResponse, headerOf, seeOther } from '../common/http.js';
import {
  Authenticated,
  CredentialEndpoint,
  ThrottleGroup,
  Public,
} from '../common/auth-decorators.js';
import { FormPost } from '../rendering/form-post.js';
import {
  CurrentAuth,
  type AuthContext,
  type StaleForm,
  type StaleFormPage,
} from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { clearCookie, readCookie, setCookie } from '../sessions/cookies.js';
import { assertSameOrigin } from '../sessions/same-origin.js';
import { setSessionCookie } from '../sessions/session-cookie.js';
import { SessionService } from '../sessions/session.service.js';
import { Csrf } from '../rendering/csrf.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { ConfirmLinkDto } from './dto/confirm-link.dto.js';
import { GosuslugiLoginFormDto } from './dto/gosuslugi-login-form.dto.js';
import { GOSUSLUGI_PAGES, type GosuslugiPage } from './gosuslugi.texts.js';
import {
  type BrowserReturn,
  type CallbackOutcome,
  type LinkStart,
  type ProviderRedirect,
} from './callback-outcome.js';
import { GosuslugiLinks } from './gosuslugi-links.service.js';
import { GosuslugiLogin } from './gosuslugi-login.service.js';
import { GosuslugiRefresh } from './gosuslugi-refresh.service.js';
import { GosuslugiService } from './gosuslugi.service.js';
import { ProviderError } from './provider-client.js';
import { safeReturnTo } from './return-to.js';
import { GOSUSLUGI_LOGIN } from '../throttling/credential-throttle.js';

const LINK_START = '/auth/gosuslugi/link';

@ApiTags('gosuslugi')
@Controller()
export class GosuslugiController implements StaleFormPage {
  constructor(
    private readonly gosuslugi: GosuslugiService,
    private readonly logins: GosuslugiLogin,
    private readonly linking: GosuslugiLinks,
    private readonly identityRefresh: GosuslugiRefresh,
    private readonly sessions: SessionService,
    private readonly pages: PageRenderer,
    private readonly config: AppConfig,
    private readonly csrf: Csrf,
  ) {}

  private page(response: HttpResponse, name: GosuslugiPage, code?: string, detail?: string): void {
    const page = GOSUSLUGI_PAGES[name];
    this.pages.send(response, page.status, 'message', {
      title: page.title,
      paragraphs: detail ? [detail, ...page.paragraphs] : page.paragraphs,
      code,
      links: [
        { href: '/login', text: 'Войти' },
        { href: '/account', text: 'Личный кабинет', secondary: true },
      ],
    });
  }

  /** Starting a round trip can fail on the provider's side (discovery, signer, certificates). */
  private async start(response: HttpResponse, begin: () => Promise<void>): Promise<void> {
    try {
      await begin();
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      this.page(response, 'unavailable', error.code, error.detail);
    }
  }

  /** The round trip's cookie goes with the redirect that starts it. */
  private toProvider(response: HttpResponse, start: ProviderRedirect): void {
    setCookie(response, this.config, 'gosuslugiTransaction', start.transactionCookie);
    seeOther(response, start.url.href);
  }

  private transactionHandle(request: HttpRequest): string | undefined {
    return readCookie(request, this.config, 'gosuslugiTransaction');
  }

  /**
   * What a return brings back: the transaction's handle is read and its cookie cleared at once (it
   * is single-use, whatever the answer); the session is looked up only when the flow asks.
   */
  private browserReturn(
    request: HttpRequest,
    response: HttpResponse,
    state: unknown,
  ): BrowserReturn {
    const handle = this.transactionHandle(request);
    clearCookie(response, this.config, 'gosuslugiTransaction');
    return { handle, state, browserSession: () => this.sessions.fromCookie(request) };
  }

  private toLogin(
    response: HttpResponse,
    start: Extract<LinkStart, { kind: 'login_required' }>,
    returnTo: string,
  ): void {
    const query = new URLSearchParams({ returnTo, ...(start.reauthenticate && { reauth: '1' }) });
    seeOther(response, `/login?${query.toString()}`);
  }

  @Get('auth/gosuslugi/login')
  @Public()
  @ApiOperation({
    summary: 'Страница входа: вход через Госуслуги начинается только формой с неё (POST)',
  })
  loginPage(@Query('returnTo') returnTo: unknown, @Res() response: HttpResponse): void {
    // A navigation (from another site, too) never starts a provider trip: a browser that holds a
    // Госуслуги session would be switched into that account without a click (login CSRF).
    const target = safeReturnTo(returnTo);
    seeOther(response, target ? `/login?${new URLSearchParams({ returnTo: target })}` : '/login');
  }

  @Post('auth/gosuslugi/login')
  @Public()
  @FormPost()
  @CredentialEndpoint()
  @ThrottleGroup(GOSUSLUGI_LOGIN)
  @ApiOperation({
    summary: 'Начать вход через Госуслуги: форма страницы входа (returnTo — только локальный путь)',
  })
  async login(@Res() response: HttpResponse, @Body() form: GosuslugiLoginFormDto): Promise<void> {
    await this.start(response, async () => {
      this.toProvider(response, await this.logins.start(safeReturnTo(form.returnTo)));
    });
  }

  /** A stale «Войти через Госуслуги» starts nothing: the login page again, saying why. */
  staleForm({ response }: StaleForm): void {
    seeOther(response, '/login?notice=stale');
  }

  @Get('auth/gosuslugi/link')
  @Public()
  @CredentialEndpoint()
  @ApiOperation({
    summary: 'Начать привязку Госуслуг к текущей учётной записи (нужен недавний вход)',
  })
  async link(@Req() request: HttpRequest, @Res() response: HttpResponse): Promise<void> {
    // Linking starts from our own pages; a navigation from another site is refused.
    if (headerOf(request, 'sec-fetch-site') === 'cross-site')
      return this.page(response, 'crossSite');
    await this.start(response, async () => {
      const start = await this.linking.start(await this.sessions.fromCookie(request));
      if (start.kind === 'redirect') this.toProvider(response, start);
      else this.toLogin(response, start, LINK_START);
    });
  }

  @Get('auth/gosuslugi/continue')
  @Public()
  @CredentialEndpoint()
  @ApiOperation({
    summary: 'Возврат после выхода из ЕСИА перед повторным входом: дальше на авторизацию',
  })
  async continueAfterLogout(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
  ): Promise<void> {
    // Arrives from the provider's site: only the browser's own pending round trip goes on.
    await this.start(response, async () => {
      const url = await this.gosuslugi.continueAfterLogout(this.transactionHandle(request));
      if (url) seeOther(response, url.href);
      else this.page(response, 'invalidTransaction');
    });
  }

  @Get('auth/gosuslugi/callback')
  @Public()
  @ApiOperation({ summary: 'Единый адрес возврата с Госуслуг для входа, привязки и приглашений' })
  async callback(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Client() client: ClientInfo,
  ): Promise<void> {
    response.header('Referrer-Policy', 'no-referrer');
    response.header('Cache-Control', 'no-store');
    // Rebuilt from PUBLIC_URL, never from the Host header.
    const callbackUrl = new URL(request.originalUrl, this.config.publicUrl);
    const back = this.browserReturn(request, response, request.query.state);
    this.finish(response, await this.gosuslugi.callback({ ...back, callbackUrl }, client));
  }

  private finish(response: HttpResponse, outcome: CallbackOutcome): void {
    switch (outcome.kind) {
      case 'logged_in':
        setSessionCookie(response, this.config, outcome.login.token);
        this.csrf.rotate(response);
        seeOther(response, outcome.returnTo);
        return;
      case 'confirm_link':
        setCookie(response, this.config, 'gosuslugiTransaction', outcome.transactionCookie);
        seeOther(response, '/auth/gosuslugi/link/confirm');
        return;
      case 'linked':
        seeOther(response, `${outcome.returnTo}?gosuslugi=linked`);
        return;
      case 'refused':
        this.page(response, outcome.page, outcome.code, outcome.detail);
        return;
    }
  }

  @Get('auth/gosuslugi/link/confirm')
  @Public()
  @ApiOperation({ summary: 'Страница подтверждения привязки: чей профиль Госуслуг вернулся' })
  async confirmPage(@Req() request: HttpRequest, @Res() response: HttpResponse): Promise<void> {
    const pending = await this.linking.pendingLink(this.transactionHandle(request), () =>
      this.sessions.fromCookie(request),
    );
    if (!pending) return this.page(response, 'invalidTransaction');
    const { lastName, firstName, middleName, trusted } = pending.identity.claims;
    this.pages.send(response, 200, 'link-confirm', {
      name: [lastName, firstName, middleName].filter(Boolean).join(' ') || 'без имени',
      trusted,
      login: pending.login,
      state: pending.state,
      offerEmail: pending.offerEmail,
    });
  }

  @Post('auth/gosuslugi/link/confirm')
  @Public()
  @ApiOperation({ summary: 'Подтвердить привязку (форма со страницы подтверждения)' })
  async confirm(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Body() dto: ConfirmLinkDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    assertSameOrigin(request, this.config.publicUrl);
    const outcome = await this.linking.confirmLink(
      this.browserReturn(request, response, dto.state),
      client,
      dto.useEmail === '1',
    );
    if (outcome.kind === 'login_required' || outcome.kind === 'redirect') {
      // Too long since the password was entered: enter it again and start over.
      this.toLogin(response, { kind: 'login_required', reauthenticate: true }, LINK_START);
      return;
    }
    this.finish(response, outcome);
  }

  @Post('api/v1/me/identities/gosuslugi/refresh')
  @Authenticated()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary:
      'Обновить данные из Госуслуг без нового входа (только при GOSUSLUGI_ESIA_ACCESS_TYPE=offline)',
  })
  refresh(@CurrentAuth() auth: AuthContext, @Client() client: ClientInfo): Promise<void> {
    return this.identityRefresh.refreshIdentity(auth.session, client);
  }

  @Delete('api/v1/me/identities/gosuslugi')
  @Authenticated()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Отвязать Госуслуги (нельзя, если это единственный способ входа)' })
  unlink(@CurrentAuth() auth: AuthContext, @Client() client: ClientInfo): Promise<void> {
    return this.linking.unlink(auth.session, client);
  }
}
