import { Body, Controller, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { type HttpRequest, type HttpResponse, seeOther } from '../common/http.js';
import { RECOVERY_ANSWER } from '../accounts/account-links.texts.js';
import { RecoveryRequestDto } from '../accounts/dto/account-links.dto.js';
import { EmailVerification } from '../accounts/email-verification.service.js';
import { describePolicy } from '../accounts/password-policy.js';
import { RecoveryService } from '../accounts/recovery.service.js';
import { type StaleForm, type StaleFormPage } from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { DomainError, type FieldErrors } from '../common/errors.js';
import { validatePayload } from '../common/validation.js';
import { Csrf, CsrfFormDto } from '../rendering/csrf.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { PageSessions } from './page-session.js';
import { type Notice, STALE_FORM } from '../rendering/page.texts.js';
import { CredentialForm, PublicPage } from './page-routes.js';
import { PasswordInput } from './form-fields.js';

export class ForgotPasswordFormDto extends CsrfFormDto {
  @IsString()
  @MaxLength(1000)
  identifier!: string;
}

/** A form on the page of a link from a letter: the link's token comes back in it. */
export class VerifyEmailFormDto extends CsrfFormDto {
  @IsString()
  @MaxLength(100)
  token!: string;
}

export class ResetPasswordFormDto extends VerifyEmailFormDto {
  @PasswordInput()
  password!: string;

  @PasswordInput()
  passwordRepeat!: string;

  /** «Оставить привязку профиля Госуслуг»: unticked (absent) by default. */
  @IsOptional()
  @IsIn(['1'])
  keepGosuslugi?: string;
}

/**
 * A link token sits in the address: a Referer carries the origin only, never the path. (Not
 * `no-referrer`: with it Chrome sends `Origin: null` on the page's own form post, which the
 * Origin check must refuse.)
 */
function tokenInAddress(response: HttpResponse): void {
  response.header('Referrer-Policy', 'strict-origin');
}

type LinkKind = 'verify' | 'recovery';
type LinkLookup = { kind: 'usable' } | { kind: 'refused'; error: DomainError };

/** «Забыли пароль?», the new-password page of a recovery link, and e-mail verification. */
@ApiExcludeController()
@Controller()
export class RecoveryPageController implements StaleFormPage {
  constructor(
    private readonly recovery: RecoveryService,
    private readonly verification: EmailVerification,
    private readonly pageSessions: PageSessions,
    private readonly pages: PageRenderer,
    private readonly csrf: Csrf,
  ) {}

  @PublicPage('forgot-password')
  forgot(@Req() request: HttpRequest, @Res() response: HttpResponse): void {
    this.pages.send(response, 200, 'forgot-password', {
      csrf: this.csrf.token(request, response),
      values: {},
      errors: {},
    });
  }

  @CredentialForm('forgot-password')
  async requestRecovery(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Body() form: ForgotPasswordFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const csrf = this.csrf.token(request, response);
    try {
      const dto = await validatePayload(RecoveryRequestDto, { identifier: form.identifier });
      await this.recovery.request(dto.identifier, client);
    } catch (error) {
      if (!(error instanceof DomainError) || !error.errors) throw error;
      return this.pages.send(response, 422, 'forgot-password', {
        csrf,
        values: form,
        errors: { identifier: error.errors.identifier ?? [] },
      });
    }
    // The same page for every identifier.
    this.pages.send(response, 200, 'message', {
      title: 'Проверьте почту',
      paragraphs: [RECOVERY_ANSWER],
      links: [{ href: '/login', text: 'Ко входу' }],
    });
  }

  @PublicPage('reset-password/:token')
  async resetPage(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Param('token') token: string,
  ): Promise<void> {
    const found = await this.usableLink(response, 'recovery', this.recovery.lookup(token));
    if (found) this.renderReset(request, response, 200, token, found, {});
  }

  @CredentialForm('reset-password')
  async reset(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Body() form: ResetPasswordFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const found = await this.usableLink(response, 'recovery', this.recovery.lookup(form.token));
    if (!found) return;
    try {
      await this.recovery.reset(form.token, form.password, form.passwordRepeat, client, {
        keepGosuslugi: form.keepGosuslugi === '1',
      });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (!error.errors) return this.linkRefused(response, error, 'recovery');
      return this.renderReset(request, response, 422, form.token, found, {
        password: error.errors.newPassword ?? [],
        passwordRepeat: error.errors.newPasswordRepeat ?? [],
      });
    }
    // Never logs in by itself: the person logs in with the new password.
    seeOther(response, '/login?notice=password_reset');
  }

  @PublicPage('verify-email/:token')
  async verifyPage(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Param('token') token: string,
  ): Promise<void> {
    // Following the link only shows the address: mail scanners that open links spend nothing.
    const found = await this.usableLink(response, 'verify', this.verification.lookup(token));
    if (!found) return;
    this.pages.send(response, 200, 'verify-email', {
      csrf: this.csrf.token(request, response),
      token,
      login: found.login,
      email: found.email,
    });
  }

  @CredentialForm('verify-email')
  async verify(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Body() form: VerifyEmailFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    tokenInAddress(response);
    let verified: { userId: string; email: string };
    try {
      verified = await this.verification.verify(form.token, client);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return this.linkRefused(response, error, 'verify');
    }
    const email = verified.email;
    const session = await this.pageSessions.current(request);
    // Only the account the link belonged to is told «подтверждён» in its own cabinet.
    if (session?.user.id === verified.userId)
      return seeOther(response, '/account?notice=email_verified');
    this.pages.send(response, 200, 'message', {
      title: 'Адрес подтверждён',
      paragraphs: [
        `Адрес ${email} подтверждён. Теперь на него приходят уведомления, и по нему можно восстановить пароль.`,
      ],
      links: [{ href: '/login', text: 'Войти' }],
    });
  }

  /** A stale form of these pages, shown again (a recovery link that no longer works says so). */
  async staleForm({ request, response, handler, field }: StaleForm): Promise<void> {
    if (handler === 'requestRecovery') {
      return this.pages.send(response, 403, 'forgot-password', {
        csrf: this.csrf.token(request, response),
        values: { identifier: field('identifier') },
        errors: {},
        notice: { kind: 'error', text: STALE_FORM } satisfies Notice,
      });
    }
    tokenInAddress(response);
    if (handler === 'reset') {
      const token = field('token') ?? '';
      const found = await this.usableLink(response, 'recovery', this.recovery.lookup(token));
      if (found) this.renderReset(request, response, 403, token, found, {}, STALE_FORM);
      return;
    }
    this.pages.send(response, 403, 'message', {
      title: 'Страница устарела',
      paragraphs: ['Откройте ссылку из письма ещё раз.'],
    });
  }

  private renderReset(
    request: HttpRequest,
    response: HttpResponse,
    status: number,
    token: string,
    account: { login: string; linked: boolean },
    errors: FieldErrors,
    error?: string,
  ): void {
    this.pages.send(response, status, 'reset-password', {
      pageUrl: `/reset-password/${encodeURIComponent(token)}`,
      csrf: this.csrf.token(request, response),
      token,
      login: account.login,
      linked: account.linked,
      errors,
      rules: describePolicy().rules,
      notice: error ? { kind: 'error', text: error } : undefined,
    });
  }

  /**
   * The link of a page or form whose token is in the address: what its lookup found, or null
   * once the page of a link that no longer works is sent.
   */
  private async usableLink<Found extends LinkLookup>(
    response: HttpResponse,
    what: LinkKind,
    lookup: Promise<Found>,
  ): Promise<Extract<Found, { kind: 'usable' }> | null> {
    tokenInAddress(response);
    const found = await lookup;
    if (found.kind === 'usable') return found as Extract<Found, { kind: 'usable' }>;
    this.linkRefused(response, found.error, what);
    return null;
  }

  private linkRefused(response: HttpResponse, error: DomainError, what: LinkKind): void {
    this.pages.send(response, error.status, 'message', {
      title: what === 'verify' ? 'Адрес не подтверждён' : 'Ссылка не действует',
      paragraphs: [error.message],
      code: error.code,
      links:
        what === 'verify'
          ? [{ href: '/account', text: 'Личный кабинет' }]
          : [{ href: '/forgot-password', text: 'Восстановить пароль ещё раз' }],
    });
  }
}
