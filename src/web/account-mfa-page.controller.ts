import { Body, Controller, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { type HttpResponse, seeOther } from '../common/http.js';
import { DomainError } from '../common/errors.js';
import { PasswordChecks } from '../sessions/password-checks.service.js';
import { MfaEnrolment } from '../sessions/mfa-enrolment.service.js';
import { SECOND_FACTOR_TEXTS } from '../sessions/second-factor.texts.js';
import { Passkeys } from '../sessions/passkeys.service.js';
import { SecondFactors } from '../sessions/second-factors.service.js';
import { recentlyAuthenticated } from '../sessions/session-rules.js';
import { PageContext } from './page-context.js';
import { failure, PASSKEY_SCRIPTS, success } from './web.texts.js';
import { type Notice } from '../rendering/page.texts.js';
import { FormPage, type FormPageState } from './form-page.js';
import { CsrfFormDto } from '../rendering/csrf.js';
import { PageForm } from './page-routes.js';
import { PasswordInput } from './form-fields.js';
import { Call, type PageCall } from './page-call.js';

export class EnrolFormDto extends CsrfFormDto {
  @IsString()
  @MaxLength(32)
  code!: string;
}

export class RemoveFormDto extends EnrolFormDto {
  @IsOptional()
  @PasswordInput()
  password?: string;
}

const PATH = '/account/mfa';

export const MFA_NOTICES = {
  removed: success('Двухфакторная аутентификация отключена'),
  wrong_enrolment_code: failure(
    'Код не подошёл. Проверьте время на телефоне и введите код, который приложение показывает сейчас.',
  ),
  wrong_removal: failure('Неверный пароль или код: ничего не изменилось'),
  /** Sent here by AdminSecondFactorGuard: the administration area needs a factor first. */
  required: failure(SECOND_FACTOR_TEXTS.enrolmentRequired),
  passkey_added: success('Ключ доступа добавлен'),
  passkey_removed: success('Ключ доступа удалён'),
  passkey_failed: failure('Не удалось добавить ключ доступа: попробуйте ещё раз'),
  passkey_exists: failure('Этот ключ доступа уже добавлен'),
  passkey_name: failure('Назовите ключ: от 1 до 64 символов'),
} as const satisfies Record<string, Notice>;

/**
 * «Двухфакторная аутентификация» of «Личный кабинет» (/account/mfa): enrolling a TOTP app (needs
 * a recent login, like the other changes that could hand the account over), and removing it (the
 * password and a code, entered here).
 */
@ApiExcludeController()
@Controller(PATH.slice(1))
export class AccountMfaPageController extends FormPage {
  constructor(
    private readonly enrolment: MfaEnrolment,
    private readonly factors: SecondFactors,
    private readonly passkeys: Passkeys,
    private readonly passwordChecks: PasswordChecks,
    context: PageContext,
  ) {
    super(context, MFA_NOTICES);
  }

  @PageForm(PATH, 'enrol')
  async enrol(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: EnrolFormDto,
  ): Promise<void> {
    if (!recentlyAuthenticated(session)) return seeOther(response, PATH);
    const recoveryCodes = await this.enrolment.confirm(session.user, form.code, client);
    if (!recoveryCodes) {
      const notice = MFA_NOTICES.wrong_enrolment_code;
      return this.render({ request, response, session, status: 422, notice });
    }
    await this.context.send(request, response, session, 'account', 200, 'mfa-recovery-codes', {
      recoveryCodes,
      next: PATH,
    });
  }

  @PageForm(PATH, 'remove')
  async remove(
    @Res() response: HttpResponse,
    @Call() { request, session, client }: PageCall,
    @Body() form: RemoveFormDto,
  ): Promise<void> {
    const user = session.user;
    const password = await this.passwordChecks.verifyCurrentPassword(
      user,
      form.password ?? '',
      client,
      'reauthentication.failed',
    );
    // The code is checked even after a wrong password, so both count as guesses.
    const proved = await this.factors.verify(user, form.code, client);
    if (!password || !proved) {
      return this.render({
        request,
        response,
        session,
        status: 401,
        notice: MFA_NOTICES.wrong_removal,
      });
    }
    try {
      await this.enrolment.remove(user, client);
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'mfa_not_enrolled') throw error;
    }
    seeOther(response, `${PATH}?notice=removed`);
  }

  protected async render(page: FormPageState): Promise<void> {
    const { request, response, session, status, notice } = page;
    const status_ = await this.enrolment.status(session.user.id);
    const recent = recentlyAuthenticated(session);
    const enrolment = !status_.enrolled && recent ? await this.enrolment.begin(session.user) : null;
    const moscow = (date: Date) => date.toLocaleString('ru-RU', { timeZone: 'Europe/Moscow' });
    const keys = (await this.passkeys.list(session.user.id)).map((key) => ({
      id: key.id,
      name: key.name,
      createdAt: moscow(key.createdAt),
      lastUsedAt: key.lastUsedAt ? moscow(key.lastUsedAt) : null,
    }));
    const passkeyOptions = recent
      ? JSON.stringify(await this.passkeys.registrationOptions(session.user, session.id))
      : null;
    await this.context.send(request, response, session, 'account', status, 'account-mfa', {
      passkeys: keys,
      passkeyOptions,
      scripts: recent ? [...PASSKEY_SCRIPTS, 'confirm.js'] : ['confirm.js'],
      status: {
        ...status_,
        enrolledAt: status_.enrolledAt?.toLocaleString('ru-RU', { timeZone: 'Europe/Moscow' }),
      },
      operator: session.user.isPlatformOperator,
      recent,
      enrolment,
      notice,
    });
  }
}
