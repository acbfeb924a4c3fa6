import { Body, Controller, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { type HttpRequest, type HttpResponse, seeOther } from '../common/http.js';
import { type StaleForm, type StaleFormPage } from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { DomainError } from '../common/errors.js';
import { AppConfig } from '../config/app-config.js';
import { returnTarget } from '../gosuslugi/return-to.js';
import { type LoginChallenge } from '../sessions/login-challenge.entity.js';
import {
  clearSecondFactorCookie,
  readSecondFactorCookie,
} from '../sessions/second-factor-cookie.js';
import {
  SecondFactorLogin,
  type SecondFactorLoginResult,
} from '../sessions/second-factor-login.service.js';
import { setSessionCookie } from '../sessions/session-cookie.js';
import { type Session } from '../sessions/session.entity.js';
import { SessionService } from '../sessions/session.service.js';
import { Csrf, CsrfFormDto } from '../rendering/csrf.js';
import { PageRenderer } from '../rendering/page-renderer.js';
import { PASSKEY_SCRIPTS } from './web.texts.js';
import { STALE_FORM } from '../rendering/page.texts.js';
import { CredentialForm, PublicPage } from './page-routes.js';

export class SecondFactorFormDto extends CsrfFormDto {
  @IsString()
  @MaxLength(32)
  code!: string;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  returnTo?: string;
}

export class PasskeyFormDto extends CsrfFormDto {
  /** The JSON the page's script put here: navigator.credentials.get()'s answer. */
  @IsString()
  @MaxLength(32_768)
  assertion!: string;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  returnTo?: string;
}

/** How one factor answers the pending step, and the error code of a wrong answer. */
interface FactorCheck {
  refused: 'invalid_mfa_code' | 'invalid_passkey';
  prove(token: string | undefined, previous: Session | null): Promise<SecondFactorLoginResult>;
}

/**
 * The second step of a password login in the browser (/login/mfa): the code of the enrolled
 * factor, or, for an account that must have one, enrolling it right here. The pending step is in
 * its own cookie (no session exists yet); without a live one the browser goes back to /login.
 */
@ApiExcludeController()
@Controller('login/mfa')
export class SecondFactorPageController implements StaleFormPage {
  constructor(
    private readonly secondFactor: SecondFactorLogin,
    private readonly sessions: SessionService,
    private readonly pages: PageRenderer,
    private readonly config: AppConfig,
    private readonly csrf: Csrf,
  ) {}

  @PublicPage()
  page(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Query('returnTo') returnTo: unknown,
  ): Promise<void> {
    return this.show(request, response, 200, returnTarget(returnTo));
  }

  @CredentialForm()
  async submit(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Body() form: SecondFactorFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.finish(request, response, form.returnTo, {
      refused: 'invalid_mfa_code',
      prove: (token, previous) => this.secondFactor.complete(token, form.code, client, previous),
    });
  }

  /** «Войти с ключом доступа»: the assertion over this step's challenge instead of a code. */
  @CredentialForm('passkey')
  async passkey(
    @Req() request: HttpRequest,
    @Res() response: HttpResponse,
    @Body() form: PasskeyFormDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    await this.finish(request, response, form.returnTo, {
      refused: 'invalid_passkey',
      prove: (token, previous) =>
        this.secondFactor.completeWithPasskey(token, form.assertion, client, previous),
    });
  }

  staleForm({ request, response, field }: StaleForm): Promise<void> {
    return this.show(request, response, 403, returnTarget(field('returnTo')), STALE_FORM);
  }

  /** The live pending step's form, or the way back to the password when it has ended. */
  private async show(
    request: HttpRequest,
    response: HttpResponse,
    status: number,
    returnTo: string,
    error?: string,
  ): Promise<void> {
    const challenge = await this.live(request, response, returnTo);
    if (challenge) await this.render(request, response, status, challenge, returnTo, error);
  }

  /**
   * The step answered, by a code or a passkey (`check`): on the live pending step, a right factor
   * opens the session in place of the browser's previous one (SecondFactorLogin.completeSecondFactor
   * moves or ends its applications), sets its cookie, clears the step's and turns the form token
   * over, then goes on to `returnTo` (after an enrolment, through the recovery codes shown once).
   * A refused factor shows the step again (401); an ended step sends the browser to the password.
   */
  private async finish(
    request: HttpRequest,
    response: HttpResponse,
    asked: string | undefined,
    check: FactorCheck,
  ): Promise<void> {
    const returnTo = returnTarget(asked);
    const challenge = await this.live(request, response, returnTo);
    if (!challenge) return;
    try {
      const previous = await this.sessions.fromCookie(request);
      const { token, recoveryCodes } = await check.prove(
        readSecondFactorCookie(request, this.config),
        previous,
      );
      setSessionCookie(response, this.config, token);
      clearSecondFactorCookie(response, this.config);
      this.csrf.rotate(response);
      if (!recoveryCodes) return seeOther(response, returnTo);
      this.pages.send(response, 200, 'mfa-recovery-codes', { recoveryCodes, next: returnTo });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (error.code === 'mfa_challenge_invalid') return this.expired(response, returnTo);
      if (error.code !== check.refused) throw error;
      // A refused key may have been the step's last attempt, and the page offers a key only on a
      // live step: it is looked up again. A refused code shows the form once more even then.
      const shown =
        check.refused === 'invalid_passkey'
          ? await this.live(request, response, returnTo)
          : challenge;
      if (shown) await this.render(request, response, 401, shown, returnTo, error.message);
    }
  }

  /** The live pending step, or null after sending the browser back to the password. */
  private async live(
    request: HttpRequest,
    response: HttpResponse,
    returnTo: string,
  ): Promise<LoginChallenge | null> {
    try {
      return await this.secondFactor.challenge(readSecondFactorCookie(request, this.config));
    } catch (error) {
      if (error instanceof DomainError && error.code === 'mfa_challenge_invalid') {
        this.expired(response, returnTo);
        return null;
      }
      throw error;
    }
  }

  private expired(response: HttpResponse, returnTo: string): void {
    clearSecondFactorCookie(response, this.config);
    const query = new URLSearchParams({ returnTo, notice: 'mfa_expired' });
    seeOther(response, `/login?${query.toString()}`);
  }

  private async render(
    request: HttpRequest,
    response: HttpResponse,
    status: number,
    challenge: LoginChallenge,
    returnTo: string,
    error?: string,
  ): Promise<void> {
    const enrolment =
      challenge.purpose === 'enrol'
        ? await this.secondFactor.enrolmentOf(readSecondFactorCookie(request, this.config))
        : null;
    const token = readSecondFactorCookie(request, this.config);
    const passkey = (await this.secondFactor.passkeyOffered(challenge))
      ? JSON.stringify(await this.secondFactor.passkeyOptions(token))
      : null;
    this.pages.send(response, status, 'login-mfa', {
      csrf: this.csrf.token(request, response),
      returnTo,
      enrolment,
      passkey,
      code: await this.secondFactor.codeOffered(challenge),
      scripts: passkey ? PASSKEY_SCRIPTS : [],
      error,
    });
  }
}
