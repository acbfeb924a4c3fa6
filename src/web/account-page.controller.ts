import { Body, Controller, Get, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { type Request, type Response } from 'express';
import { AccountsService } from '../accounts/accounts.service.js';
import { EmailVerification } from '../accounts/email-verification.service.js';
import { ChangePasswordDto } from '../accounts/dto/change-password.dto.js';
import { UpdateProfileDto } from '../accounts/dto/update-profile.dto.js';
import { checkPassword, describePolicy } from '../accounts/password-policy.js';
import { FormPost, Page, Public } from '../common/auth-decorators.js';
import {
  type AuthContext,
  CurrentAuth,
  type StaleForm,
  type StaleFormPage,
} from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { DomainError, type FieldErrors } from '../common/errors.js';
import { validatePayload } from '../common/validation.js';
import { AppConfig } from '../config/app-config.js';
import { GosuslugiLinks } from '../gosuslugi/gosuslugi-links.service.js';
import { GosuslugiService } from '../gosuslugi/gosuslugi.service.js';
import { LOGGED_OUT_PATH } from '../gosuslugi/provider-client.js';
import { safeReturnTo } from '../gosuslugi/return-to.js';
import { AuthService } from '../sessions/auth.service.js';
import { type Session } from '../sessions/session.entity.js';
import { clearSessionCookie } from '../sessions/session-cookie.js';
import { SessionManagement } from '../sessions/session-management.service.js';
import { MfaEnrolment } from '../sessions/mfa-enrolment.service.js';
import { recentlyAuthenticated } from '../sessions/session-rules.js';
import { Csrf, CsrfFormDto } from '../rendering/csrf.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { PageContext } from './page-context.js';
import { PageSessions } from './page-session.js';
import { sessionRow } from './session-rows.js';
import { ACCOUNT_NOTICES } from './web.texts.js';
import { noticeOf, type Notice, STALE_FORM } from '../rendering/page.texts.js';

export class AccountFormDto {
  @IsString()
  @MaxLength(100)
  csrf!: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  phone?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  email?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1024)
  currentPassword?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1024)
  passwordRepeat?: string;
}

/** «Выйти», or «Это не я» on an invitation page: back there afterwards (a local path only). */
export class LogoutFormDto extends CsrfFormDto {
  @IsOptional()
  @IsString()
  @MaxLength(512)
  returnTo?: string;
}

/** What a page says when an action needs a login within the last 10 minutes. */
const REAUTHENTICATE_TEXT =
  'Для этого изменения подтвердите, что это вы: войдите ещё раз (кнопка «Выйти», затем вход по паролю или через Госуслуги) и сразу повторите.';

/** A Госуслуги login that may not move the verified e-mail (emailChangeRefusal): only the password. */
const PASSWORD_REQUIRED_TEXT =
  'Чтобы заменить или убрать подтверждённый e-mail, подтвердите, что это вы, паролем: выйдите (кнопка «Выйти»), войдите по логину и паролю и сразу повторите. Вход через Госуслуги, привязанные раньше, чем был подтверждён этот адрес, для этого не подходит.';

/** The API's password fields under the names of the page's inputs. */
const PASSWORD_FIELDS: Record<string, string> = {
  newPassword: 'password',
  newPasswordRepeat: 'passwordRepeat',
};

function renameFields(errors: FieldErrors, names: Record<string, string>): FieldErrors {
  return Object.fromEntries(
    Object.entries(errors).map(([field, list]) => [names[field] ?? field, list]),
  );
}

interface AccountView {
  status: number;
  notice?: Notice;
  errors?: FieldErrors;
  values?: { phone?: string; email?: string };
}

/** «Личный кабинет» (/account), the way out (/logout) and the front door (/). */
@ApiExcludeController()
@Controller()
export class AccountPageController implements StaleFormPage {
  constructor(
    private readonly accounts: AccountsService,
    private readonly verification: EmailVerification,
    private readonly gosuslugi: GosuslugiService,
    private readonly linking: GosuslugiLinks,
    private readonly auth: AuthService,
    private readonly pageSessions: PageSessions,
    private readonly context: PageContext,
    private readonly pages: PageRenderer,
    private readonly config: AppConfig,
    private readonly csrf: Csrf,
    private readonly sessions: SessionManagement,
    private readonly mfa: MfaEnrolment,
  ) {}

  /** Anyone: the cabinet for a signed-in person, the login page for anyone else. */
  @Get()
  @Public()
  async home(@Req() request: Request, @Res() response: Response): Promise<void> {
    response.redirect(303, (await this.pageSessions.current(request)) ? '/account' : '/login');
  }

  @Get('account')
  @Page()
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
  @Post('account')
  @Page({ returnTo: '/account' })
  @FormPost()
  async save(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Body() form: AccountFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const user = session.user;
    const values = { phone: form.phone ?? '', email: form.email ?? '' };
    // Only what the person changed goes to the service; an emptied field removes the value.
    const changes: Record<string, unknown> = {};
    const phone = values.phone.trim();
    const email = values.email.trim();
    if (phone !== (user.phone ?? '')) changes.phone = phone === '' ? null : phone;
    if (email !== (user.pendingEmail ?? user.email ?? ''))
      changes.email = email === '' ? null : email;
    const changingPassword = Boolean(form.currentPassword || form.password || form.passwordRepeat);
    const hadPassword = await this.accounts.hasPassword(user);

    let errors: FieldErrors = {};
    let profile: UpdateProfileDto | undefined;
    try {
      profile = await validatePayload(UpdateProfileDto, changes);
    } catch (error) {
      if (!(error instanceof DomainError) || !error.errors) throw error;
      errors = { ...error.errors };
    }
    if (changingPassword) {
      const change = {
        currentPassword: form.currentPassword ?? '',
        newPassword: form.password ?? '',
        newPasswordRepeat: form.passwordRepeat ?? '',
      };
      if (Object.keys(errors).length > 0) {
        // Report the password's own problems too, without spending a password check on it.
        const violations = checkPassword(change.newPassword, { login: user.login });
        if (violations.length > 0) errors.password = violations;
      } else {
        try {
          await this.accounts.changePassword(
            user,
            session,
            await validatePayload(ChangePasswordDto, change),
            client,
          );
        } catch (error) {
          if (error instanceof DomainError && error.code === 'reauthentication_required') {
            // A first password (no current one to ask for) needs a recent login instead.
            errors = {
              password: [
                {
                  code: error.code,
                  message:
                    'Чтобы задать пароль, войдите через Госуслуги ещё раз (кнопка «Выйти», затем вход) и сразу повторите.',
                },
              ],
            };
          } else {
            if (!(error instanceof DomainError) || !error.errors) throw error;
            errors = renameFields(error.errors, PASSWORD_FIELDS);
          }
        }
      }
    }
    if (Object.keys(errors).length > 0) {
      return this.render(request, response, session, {
        status: 422,
        values,
        errors,
        notice: { kind: 'error', text: 'Проверьте поля, отмеченные ниже' },
      });
    }
    if (profile && Object.keys(changes).length > 0) {
      try {
        await this.accounts.updateProfile(user, profile, client, session);
      } catch (error) {
        if (
          !(error instanceof DomainError) ||
          (error.code !== 'reauthentication_required' && error.code !== 'password_required')
        )
          throw error;
        // A new or removed address and the phone need the password (or Госуслуги) again.
        const again = {
          code: error.code,
          message:
            error.code === 'password_required' ? PASSWORD_REQUIRED_TEXT : REAUTHENTICATE_TEXT,
        };
        return this.render(request, response, session, {
          status: 403,
          values,
          errors: {
            ...('email' in changes && { email: [again] }),
            // Only the e-mail needs the password itself; the phone was refused along with it.
            ...('phone' in changes && error.code !== 'password_required' && { phone: [again] }),
          },
          notice: { kind: 'error', text: 'Проверьте поля, отмеченные ниже' },
        });
      }
    }
    const notice = changingPassword
      ? hadPassword
        ? 'password_changed'
        : 'password_set'
      : typeof changes.email === 'string'
        ? 'verification_sent'
        : 'saved';
    response.redirect(303, `/account?notice=${notice}`);
  }

  /** «Отправить письмо ещё раз» for the pending address. */
  @Post('account/email/resend')
  @Page({ returnTo: '/account' })
  @FormPost()
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

  @Post('account/gosuslugi/unlink')
  @Page({ returnTo: '/account' })
  @FormPost()
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
  @Post('account/sessions/:id/end')
  @Page({ returnTo: '/account' })
  @FormPost()
  endSession(
    @Req() request: Request,
    @Res() response: Response,
    @CurrentAuth() { session }: AuthContext,
    @Param('id') id: string,
    @Body() _form: CsrfFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    return this.act(request, response, session, '/account?notice=session_ended#sessions', () =>
      this.sessions.endOwn(session, id, client).then(() => undefined),
    );
  }

  @Post('account/sessions/end-others')
  @Page({ returnTo: '/account' })
  @FormPost()
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
      () => this.sessions.endOthers(session, client).then(() => undefined),
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

  /** A one-button form of the cabinet: the action; its refusal is shown as a notice on the page. */
  private async act(
    request: Request,
    response: Response,
    session: Session,
    done: string,
    action: () => Promise<void>,
  ): Promise<void> {
    try {
      await action();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return this.render(request, response, session, {
        status: error.status,
        notice: {
          kind: 'error',
          text: error.code === 'reauthentication_required' ? REAUTHENTICATE_TEXT : error.message,
        },
      });
    }
    response.redirect(303, done);
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
    if (session) await this.auth.logout(session, client);
    clearSessionCookie(response, this.config);
    this.csrf.rotate(response);
    // Out of the provider too when it holds a session here; otherwise back where asked (the
    // invitation page after «Это не я»), or the login page.
    response.redirect(303, providerLogout?.href ?? safeReturnTo(form.returnTo) ?? LOGGED_OUT_PATH);
  }

  private async render(
    request: Request,
    response: Response,
    session: Session,
    view: AccountView,
  ): Promise<void> {
    const user = session.user;
    const profile = await this.accounts.profile(user);
    const identity = profile.identities.find((i) => i.provider === 'gosuslugi');
    this.pages.send(response, view.status, 'account', {
      pageUrl: '/account',
      ...(await this.context.header(request, response, session, 'account')),
      profile,
      pendingEmail: profile.pendingEmail,
      values: view.values ?? {
        phone: profile.phone ?? '',
        email: profile.pendingEmail ?? profile.email ?? '',
      },
      hasPassword: await this.accounts.hasPassword(user),
      // Ending other sessions needs a recent login; until then the page offers the way to it.
      mayEndSessions: recentlyAuthenticated(session),
      sessions: (await this.sessions.list(user, session.id)).map(sessionRow),
      gosuslugi: identity && {
        ...identity,
        linkedAt: new Date(identity.linkedAt).toLocaleDateString('ru-RU', {
          timeZone: 'Europe/Moscow',
        }),
      },
      mfa: await this.mfa.status(user.id),
      rules: describePolicy().rules,
      errors: view.errors ?? {},
      notice: view.notice,
    });
  }
}
