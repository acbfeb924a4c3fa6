import { Body, Controller, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { type HttpRequest, type HttpResponse, seeOther } from '../common/http.js';
import { AccountsService } from '../accounts/accounts.service.js';
import { RegisterAccountDto } from '../accounts/dto/register-account.dto.js';
import { checkPassword, describePolicy } from '../accounts/password-policy.js';
import { ThrottleGroup } from '../common/auth-decorators.js';
import { type StaleForm, type StaleFormPage } from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { DomainError, type FieldErrors } from '../common/errors.js';
import { validatePayload } from '../common/validation.js';
import { AppConfig } from '../config/app-config.js';
import { needsSecondFactor } from '../sessions/login-outcome.js';
import { PasswordLogin } from '../sessions/password-login.service.js';
import { setSessionCookie } from '../sessions/session-cookie.js';
import { Csrf } from '../rendering/csrf.js';
import { ContactFormFields } from './dto/account-forms.dto.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { PageSessions } from './page-session.js';
import { type Notice, STALE_FORM } from '../rendering/page.texts.js';
import { CredentialForm, PublicPage } from './page-routes.js';
import { PasswordInput } from './form-fields.js';

export class RegisterFormDto extends ContactFormFields {
  @IsString()
  @MaxLength(254)
  login!: string;

  @PasswordInput()
  password!: string;

  @PasswordInput()
  passwordRepeat!: string;
}

const MISMATCH = [{ code: 'mismatch', message: 'Пароли не совпадают' }];

/** /register: a local ЭПОС account, then straight into «Личный кабинет». */
@ApiExcludeController()
@Controller('register')
export class RegisterPageController implements StaleFormPage {
  constructor(
    private readonly accounts: AccountsService,
    private readonly passwordLogin: PasswordLogin,
    private readonly pageSessions: PageSessions,
    private readonly pages: PageRenderer,
    private readonly config: AppConfig,
    private readonly csrf: Csrf,
  ) {}

  @PublicPage()
  async page(@Req() request: HttpRequest, @Res() response: HttpResponse): Promise<void> {
    if (await this.pageSessions.current(request)) return seeOther(response, '/account');
    this.render(request, response, 200, {}, {});
  }

  @CredentialForm()
  @ThrottleGroup('registration')
  async submit(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Body() form: RegisterFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const values = { login: form.login, email: form.email ?? '', phone: form.phone ?? '' };
    const payload: Record<string, unknown> = { login: form.login.trim(), password: form.password };
    if (values.email.trim()) payload.email = values.email;
    if (values.phone.trim()) payload.phone = values.phone;
    let errors: FieldErrors = {};
    try {
      const dto = await validatePayload(RegisterAccountDto, payload);
      if (form.password !== form.passwordRepeat) {
        errors.passwordRepeat = MISMATCH;
      } else {
        await this.accounts.register(dto, client);
        const outcome = await this.passwordLogin.login(dto.login, dto.password, client, null);
        // A new account has no second factor; should a policy ever ask for one, the login does.
        if (needsSecondFactor(outcome)) return seeOther(response, '/login');
        setSessionCookie(response, this.config, outcome.token);
        this.csrf.rotate(response);
        return seeOther(response, '/account?notice=registered');
      }
    } catch (error) {
      if (!(error instanceof DomainError) || !error.errors) throw error;
      errors = { ...error.errors };
      if (form.password !== form.passwordRepeat) errors.passwordRepeat = MISMATCH;
      // The DTO stops at the first password problem it sees; the page lists them all.
      const violations = checkPassword(form.password, { login: form.login.trim() });
      if (errors.password && violations.length > 0) errors.password = violations;
    }
    this.render(request, response, 422, values, errors, {
      kind: 'error',
      text: 'Проверьте поля, отмеченные ниже',
    });
  }

  staleForm({ request, response, field }: StaleForm): void {
    const values = {
      login: field('login') ?? '',
      email: field('email') ?? '',
      phone: field('phone') ?? '',
    };
    this.render(request, response, 403, values, {}, { kind: 'error', text: STALE_FORM });
  }

  private render(
    request: HttpRequest,
    response: HttpResponse,
    status: number,
    values: Record<string, string>,
    errors: FieldErrors,
    notice?: Notice,
  ): void {
    this.pages.send(response, status, 'register', {
      pageUrl: '/register',
      csrf: this.csrf.token(request, response),
      values,
      errors,
      notice,
      rules: describePolicy().rules,
    });
  }
}
