import { Body, Controller, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { type HttpRequest, type HttpResponse, seeOther } from '../common/http.js';
import { ThrottleGroup } from '../common/auth-decorators.js';
import { type StaleForm, type StaleFormPage } from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { DomainError } from '../common/errors.js';
import { AppConfig } from '../config/app-config.js';
import { DEFAULT_RETURN, returnTarget } from '../gosuslugi/return-to.js';
import { interactionUidOf } from '../provider/provider-paths.js';
import { ProviderService } from '../provider/provider.service.js';
import { needsSecondFactor } from '../sessions/login-outcome.js';
import { LoginSessions } from '../sessions/login-sessions.service.js';
import { PasswordLogin } from '../sessions/password-login.service.js';
import { setSecondFactorCookie } from '../sessions/second-factor-cookie.js';
import { type Session } from '../sessions/session.entity.js';
import { Passkeys } from '../sessions/passkeys.service.js';
import { SecondFactors } from '../sessions/second-factors.service.js';
import { setSessionCookie } from '../sessions/session-cookie.js';
import { SessionService } from '../sessions/session.service.js';
import { Csrf, CsrfFormDto } from '../rendering/csrf.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { LOGIN_NOTICES, PASSKEY_SCRIPTS } from './web.texts.js';
import { noticeOf, STALE_FORM } from '../rendering/page.texts.js';
import { PASSWORD_LOGIN } from '../throttling/credential-throttle.js';
import { CredentialForm, PublicPage } from './page-routes.js';
import { PasswordInput } from './form-fields.js';

export class LoginFormDto extends CsrfFormDto {
  @IsOptional()
  @IsString()
  @MaxLength(254)
  login?: string;

  @PasswordInput()
  password!: string;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  returnTo?: string;

  /** The second factor's code, when re-entering the password of an account that has one. */
  @IsOptional()
  @IsString()
  @MaxLength(32)
  code?: string;

  /** Re-entering the password with a passkey: navigator.credentials.get()'s answer, as JSON. */
  @IsOptional()
  @IsString()
  @MaxLength(32_768)
  assertion?: string;
}

const WRONG = 'Неверный логин или пароль';
/** Refusals the form shows again: a wrong password, or (re-entering it) a missing or wrong code. */
const REFUSALS = [
  'invalid_credentials',
  'mfa_code_required',
  'invalid_mfa_code',
  'mfa_passkey_required',
  'invalid_passkey',
];

/** The login page (and the «enter the password again» page before linking Госуслуги). */
@ApiExcludeController()
@Controller('login')
export class LoginController implements StaleFormPage {
  constructor(
    private readonly passwordLogin: PasswordLogin,
    private readonly loginSessions: LoginSessions,
    private readonly sessions: SessionService,
    private readonly pages: PageRenderer,
    private readonly config: AppConfig,
    private readonly csrf: Csrf,
    private readonly provider: ProviderService,
    private readonly factors: SecondFactors,
    private readonly passkeys: Passkeys,
  ) {}

  /**
   * The form, or with `?reauth=1` and a live session the same form asking its owner for the
   * password (and second factor) again; `?notice=` names a message above it.
   */
  @PublicPage()
  async page(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Query('returnTo') returnTo: unknown,
    @Query('reauth') reauth: unknown,
    @Query('notice') notice: unknown,
  ): Promise<void> {
    const session = reauth === '1' ? await this.sessions.fromCookie(request) : null;
    const target = returnTarget(returnTo);
    this.render(response, 200, {
      returnTo: target,
      clientName: await this.clientName(target),
      reauth: session !== null,
      ...(await this.secondFactorOf(session)),
      login: session?.user.login,
      csrf: this.csrf.token(request, response),
      notice: noticeOf(LOGIN_NOTICES, notice),
    });
  }

  @CredentialForm()
  @ThrottleGroup(PASSWORD_LOGIN)
  async submit(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Body() form: LoginFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const returnTo = returnTarget(form.returnTo);
    const csrf = this.csrf.token(request, response);
    const current = await this.sessions.fromCookie(request);
    try {
      // Without a login: the password again for the current session, which it replaces (a new
      // token, the old one ended) exactly as a login would.
      const outcome =
        !form.login && current
          ? await this.loginSessions.reauthenticate(
              current,
              form.password,
              client,
              form.code,
              form.assertion || undefined,
            )
          : await this.passwordLogin.login(form.login ?? '', form.password, client, current);
      if (needsSecondFactor(outcome)) {
        // No session yet: the code page, holding the pending step in its own cookie.
        setSecondFactorCookie(response, this.config, outcome.secondFactor.token);
        this.csrf.rotate(response);
        return seeOther(response, `/login/mfa?${new URLSearchParams({ returnTo }).toString()}`);
      }
      setSessionCookie(response, this.config, outcome.token);
      this.csrf.rotate(response);
      seeOther(response, returnTo);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'unauthenticated') {
        // The session ended while the password was being checked: log in from the start.
        const query = new URLSearchParams({ returnTo });
        return seeOther(response, `/login?${query.toString()}`);
      }
      if (!(error instanceof DomainError) || !REFUSALS.includes(error.code)) throw error;
      const reauth = !form.login && current !== null;
      this.render(response, 401, {
        returnTo,
        clientName: await this.clientName(returnTo),
        reauth,
        ...(await this.secondFactorOf(reauth ? current : null)),
        login: current?.user.login,
        loginValue: form.login,
        csrf,
        error: error.code === 'invalid_credentials' ? WRONG : error.message,
      });
    }
  }

  staleForm({ request, response, field }: StaleForm): void {
    this.render(response, 403, {
      returnTo: returnTarget(field('returnTo')),
      reauth: false,
      csrf: this.csrf.token(request, response),
      error: STALE_FORM,
    });
  }

  /**
   * Re-entering the password of an account with a second factor: the code field (TOTP) and the
   * passkey button with a challenge made for this session.
   */
  private async secondFactorOf(
    session: Session | null,
  ): Promise<{ mfa: boolean; passkey: string | null; scripts: string[] }> {
    if (!session) return { mfa: false, passkey: null, scripts: [] };
    const totp = (await this.factors.enrolled(session.user.id)) !== null;
    const passkey = (await this.passkeys.has(session.user.id))
      ? JSON.stringify(
          await this.passkeys.authenticationOptions(session.user, 'reauth', session.id),
        )
      : null;
    return { mfa: totp, passkey, scripts: passkey ? PASSKEY_SCRIPTS : [] };
  }

  /** When the login answers an application's sign-in (an OpenID Provider interaction), its name. */
  private async clientName(returnTo: string): Promise<string | null> {
    const uid = interactionUidOf(returnTo);
    return uid ? this.provider.clientNameOf(uid) : null;
  }

  private render(
    response: HttpResponse,
    status: number,
    data: { returnTo: string; reauth: boolean } & Record<string, unknown>,
  ): void {
    const query = new URLSearchParams();
    if (data.returnTo !== DEFAULT_RETURN) query.set('returnTo', data.returnTo);
    if (data.reauth) query.set('reauth', '1');
    const pageUrl = query.size > 0 ? `/login?${query.toString()}` : '/login';
    this.pages.send(response, status, 'login', { pageUrl, ...data });
  }
}
