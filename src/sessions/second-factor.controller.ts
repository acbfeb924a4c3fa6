import { Body, Controller, Header, HttpCode, HttpStatus, Post, Req, Res } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { type HttpRequest, type HttpResponse } from '../common/http.js';
import { CredentialEndpoint, Public } from '../common/auth-decorators.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { ValidationFailedError } from '../common/errors.js';
import { AppConfig } from '../config/app-config.js';
import {
  SecondFactorCodeDto,
  SecondFactorLoginResponse,
  SecondFactorTokenDto,
  TotpEnrolmentResponse,
} from './dto/second-factor.dto.js';
import { SecondFactorLogin } from './second-factor-login.service.js';
import { setSessionCookie } from './session-cookie.js';
import { SessionService } from './session.service.js';
import { TokenService } from './token.service.js';

/** The second step of a password login through the API (after 401 mfa_required / 403 mfa_enrolment_required). */
@ApiTags('auth')
@Controller('api/v1/auth/login/mfa')
export class SecondFactorController {
  constructor(
    private readonly secondFactor: SecondFactorLogin,
    private readonly sessions: SessionService,
    private readonly tokens: TokenService,
    private readonly config: AppConfig,
  ) {}

  @Post()
  @Public()
  @CredentialEndpoint()
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Второй шаг входа: код из приложения или резервный код — cookie сеанса и access token',
    description:
      'mfaToken — из ответа POST /api/v1/auth/login (401 mfa_required или 403 mfa_enrolment_required). ' +
      'Для подключения (mfa_enrolment_required) сначала POST /api/v1/auth/login/mfa/enrolment, затем сюда ' +
      'первый код из приложения: в ответе ещё и recoveryCodes (один раз). Неверный код: 401 invalid_mfa_code ' +
      '(учитывается для блокировки); после 5 неверных кодов или через 5 минут шаг недействителен: ' +
      '401 mfa_challenge_invalid, войдите заново. С ключом доступа (passkey) вместо code — assertion: ' +
      'ответ на параметры из POST /api/v1/auth/login/mfa/passkey-options; amr сеанса — ["pwd","hwk"]; ' +
      'отвергнутый ответ — 401 invalid_passkey (считается как неверный код).',
  })
  @ApiOkResponse({ type: SecondFactorLoginResponse })
  @ApiUnauthorizedResponse({
    description: 'invalid_mfa_code, invalid_passkey, mfa_challenge_invalid',
  })
  async complete(
    @Body() dto: SecondFactorCodeDto,
    @Client() client: ClientInfo,
    @Req() request: HttpRequest,
    @Res({ passthrough: true }) response: HttpResponse,
  ): Promise<SecondFactorLoginResponse> {
    const previous = await this.sessions.fromCookie(request);
    if ((dto.code === undefined) === (dto.assertion === undefined)) {
      const required = { code: 'code_or_assertion', message: 'Укажите code или assertion' };
      throw new ValidationFailedError({ code: [required], assertion: [required] });
    }
    const { session, token, recoveryCodes } =
      dto.assertion !== undefined
        ? await this.secondFactor.completeWithPasskey(dto.mfaToken, dto.assertion, client, previous)
        : await this.secondFactor.complete(dto.mfaToken, dto.code ?? '', client, previous);
    setSessionCookie(response, this.config, token);
    const access = await this.tokens.issueForSession(session);
    return {
      accessToken: access.token,
      tokenType: 'Bearer',
      expiresIn: access.expiresIn,
      ...(recoveryCodes && { recoveryCodes }),
    };
  }

  @Post('enrolment')
  @Public()
  @CredentialEndpoint()
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Подключение приложения-аутентификатора при входе (403 mfa_enrolment_required)',
    description: 'Секрет и QR-код для приложения; при повторном вызове — тот же секрет.',
  })
  @ApiOkResponse({ type: TotpEnrolmentResponse })
  @ApiConflictResponse({ description: 'mfa_enrolment_not_required — приложение уже подключено' })
  async enrolment(@Body() dto: SecondFactorTokenDto): Promise<TotpEnrolmentResponse> {
    return this.secondFactor.enrolmentOf(dto.mfaToken);
  }

  @Post('passkey-options')
  @Public()
  @CredentialEndpoint()
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Параметры для входа с ключом доступа (passkey) на втором шаге',
    description:
      'PublicKeyCredentialRequestOptionsJSON для navigator.credentials.get(): одноразовый ' +
      'challenge этого шага входа, действует 5 минут. 409 passkey_not_enrolled — ключей нет.',
  })
  @ApiOkResponse({ description: 'PublicKeyCredentialRequestOptionsJSON' })
  @ApiConflictResponse({ description: 'passkey_not_enrolled, mfa_enrolment_not_required' })
  passkeyOptions(
    @Body() dto: SecondFactorTokenDto,
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return this.secondFactor.passkeyOptions(dto.mfaToken);
  }
}
