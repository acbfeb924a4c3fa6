import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { type HttpRequest, type HttpResponse, headerOf } from '../common/http.js';
import {
  Authenticated,
  CredentialEndpoint,
  Public,
  ThrottleGroup,
} from '../common/auth-decorators.js';
import { CurrentAuth, type AuthContext } from './auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { etagOf, stillFresh } from '../common/etag.js';
import { ValidationFailedError } from '../common/errors.js';
import { AppConfig } from '../config/app-config.js';
import { needsSecondFactor } from './login-outcome.js';
import { LoginSessions } from './login-sessions.service.js';
import { PasswordLogin } from './password-login.service.js';
import { SecondFactorRequiredResponse } from './dto/second-factor.dto.js';
import { SECOND_FACTOR_TEXTS } from './second-factor.texts.js';
import { CurrentSessionResponse } from './dto/current-session.response.js';
import { AccessTokenResponse, LoginDto } from './dto/login.dto.js';
import { ReauthenticateDto } from './dto/reauthenticate.dto.js';
import { TokenRequestDto } from './dto/token-request.dto.js';
import { clearSessionCookie, setSessionCookie } from './session-cookie.js';
import { SessionService } from './session.service.js';
import { TokenService } from './token.service.js';
import { PASSWORD_LOGIN } from '../throttling/credential-throttle.js';

@ApiTags('auth')
@Controller()
export class AuthController {
  constructor(
    private readonly passwordLogin: PasswordLogin,
    private readonly loginSessions: LoginSessions,
    private readonly sessions: SessionService,
    private readonly tokens: TokenService,
    private readonly config: AppConfig,
  ) {}

  @Post('api/v1/auth/login')
  @Public()
  @CredentialEndpoint()
  @ThrottleGroup(PASSWORD_LOGIN)
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Вход по логину и паролю: cookie сеанса и access token',
    description:
      'Если у учётной записи включена двухфакторная аутентификация: 401 mfa_required с mfaToken, ' +
      'второй шаг — POST /api/v1/auth/login/mfa. Оператору платформы (и администратору ЛКО при ' +
      'MFA_REQUIRED_FOR_ADMINS=true) без второго фактора: 403 mfa_enrolment_required с mfaToken, ' +
      'подключение — POST /api/v1/auth/login/mfa/enrolment. Сеанс до второго шага не открывается.',
  })
  @ApiOkResponse({ type: AccessTokenResponse })
  @ApiUnauthorizedResponse({
    description:
      'invalid_credentials; mfa_required — нужен второй шаг (тело: SecondFactorRequiredResponse)',
  })
  @ApiForbiddenResponse({ description: 'mfa_enrolment_required — сначала подключить приложение' })
  async login(
    @Body() dto: LoginDto,
    @Client() client: ClientInfo,
    @Req() request: HttpRequest,
    @Res({ passthrough: true }) response: HttpResponse,
  ): Promise<AccessTokenResponse | SecondFactorRequiredResponse> {
    const previous = await this.sessions.fromCookie(request);
    const outcome = await this.passwordLogin.login(dto.login, dto.password, client, previous);
    if (needsSecondFactor(outcome)) {
      const { purpose, token: mfaToken, expiresAt } = outcome.secondFactor;
      const verify = purpose === 'verify';
      response.status(verify ? HttpStatus.UNAUTHORIZED : HttpStatus.FORBIDDEN);
      return {
        statusCode: verify ? HttpStatus.UNAUTHORIZED : HttpStatus.FORBIDDEN,
        code: verify ? 'mfa_required' : 'mfa_enrolment_required',
        message: verify ? SECOND_FACTOR_TEXTS.required : SECOND_FACTOR_TEXTS.enrolmentRequired,
        mfaToken,
        methods: verify ? ['totp', 'recovery_code'] : ['totp'],
        expiresIn: Math.round((expiresAt.getTime() - Date.now()) / 1000),
      };
    }
    const { session, token, claims } = outcome;
    setSessionCookie(response, this.config, token);
    const access = await this.tokens.issueForSession(session, undefined, claims);
    return { accessToken: access.token, tokenType: 'Bearer', expiresIn: access.expiresIn };
  }

  @Post('api/v1/auth/reauthenticate')
  // The browser session is what gets replaced: an access token cannot trade itself for a cookie.
  @Authenticated({ via: 'cookie' })
  @CredentialEndpoint()
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiCookieAuth()
  @ApiOperation({
    summary: 'Подтвердить пароль в текущем сеансе: новый сеанс, прежний завершается',
    description:
      'Нужен перед действиями, которые требуют недавнего ввода пароля (привязка Госуслуг, ' +
      'завершение других сеансов, замена подтверждённого e-mail; ответ 403 reauthentication_required; ' +
      'для подтверждённого e-mail после входа через Госуслуги, привязанные раньше его подтверждения, — ' +
      '403 password_required: годится только пароль). ' +
      'Как и вход, выдаёт новый сеанс (ASVS 7.2.4): новая cookie сеанса в Set-Cookie и новый access token ' +
      'в ответе. Прежний сеанс завершается вместе с его cookie и всеми его access token — ' +
      'дальше используйте только новые. Способ входа сеанса (amr) сохраняется. ' +
      'Неверный пароль: 401 invalid_credentials, учитывается для блокировки, сеанс не меняется. ' +
      'Если включена двухфакторная аутентификация, нужен и code (иначе 401 mfa_code_required; ' +
      'неверный — 401 invalid_mfa_code); amr нового сеанса — ["pwd","otp"]. ' +
      'Только по cookie сеанса: с access token — 403 browser_session_required.',
  })
  @ApiOkResponse({
    type: AccessTokenResponse,
    description: 'Access token нового сеанса; cookie нового сеанса — в Set-Cookie',
  })
  @ApiUnauthorizedResponse({
    description:
      'invalid_credentials — неверный пароль; unauthenticated — нет живого сеанса (или он завершился)',
  })
  @ApiForbiddenResponse({ description: 'browser_session_required — вызов с access token' })
  async reauthenticate(
    @CurrentAuth() auth: AuthContext,
    @Body() dto: ReauthenticateDto,
    @Client() client: ClientInfo,
    @Res({ passthrough: true }) response: HttpResponse,
  ): Promise<AccessTokenResponse> {
    const { session, token } = await this.loginSessions.reauthenticate(
      auth.session,
      dto.password,
      client,
      dto.code,
      dto.assertion,
    );
    setSessionCookie(response, this.config, token);
    const access = await this.tokens.issueForSession(session);
    return { accessToken: access.token, tokenType: 'Bearer', expiresIn: access.expiresIn };
  }

  @Post('api/v1/auth/logout')
  // Public so a browser whose session already ended can still clear its cookie; a live session
  // (cookie from our own origin, or bearer token) reaches the handler and ends.
  @Public({ session: 'optional' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Выход: сеанс завершается, его access token больше не принимается' })
  async logout(
    @Client() client: ClientInfo,
    @Req() request: HttpRequest,
    @Res({ passthrough: true }) response: HttpResponse,
  ): Promise<void> {
    if (request.auth) await this.loginSessions.logout(request.auth.session, client);
    clearSessionCookie(response, this.config);
  }

  @Post('api/v1/auth/token')
  // An access token cannot mint its successor: only the browser session can.
  @Authenticated({ via: 'cookie' })
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiCookieAuth()
  @ApiOperation({
    summary: 'Новый access token для текущего сеанса (только по cookie)',
    description:
      'С `audience` — токен для стороннего приложения (дневник, бэк-офис) из ACCESS_TOKEN_AUDIENCES; ' +
      'API этого сервиса такой токен не принимает. Неизвестный получатель: 422, errors.audience[].code = unknown_audience.',
  })
  async token(
    @CurrentAuth() auth: AuthContext,
    @Body() dto: TokenRequestDto,
  ): Promise<AccessTokenResponse> {
    if (dto.audience !== undefined && !this.tokens.isIssuableAudience(dto.audience)) {
      throw new ValidationFailedError({
        audience: [{ code: 'unknown_audience', message: 'Неизвестный получатель токена' }],
      });
    }
    const access = await this.tokens.issueForSession(auth.session, dto.audience);
    return { accessToken: access.token, tokenType: 'Bearer', expiresIn: access.expiresIn };
  }

  @Get('api/v1/auth/session')
  @Authenticated()
  @Header('Cache-Control', 'no-store')
  @ApiCookieAuth()
  @ApiOperation({
    summary: 'Текущий сеанс: кто вошёл, каким способом и до какого времени сеанс действует',
  })
  current(@CurrentAuth() auth: AuthContext): CurrentSessionResponse {
    return CurrentSessionResponse.of(auth);
  }

  @Get('.well-known/jwks.json')
  @Public()
  @ApiOperation({ summary: 'Открытые ключи для проверки access token' })
  @ApiOkResponse({ description: 'JWK Set (RFC 7517)' })
  jwks(@Req() request: HttpRequest, @Res() response: HttpResponse): void {
    const body = JSON.stringify(this.tokens.jwks());
    const etag = etagOf(body);
    response.header('Cache-Control', 'public, max-age=300').header('ETag', etag);
    // A verifier may revalidate its copy.
    if (stillFresh(headerOf(request, 'if-none-match'), etag)) response.status(304).send();
    else response.status(200).type('application/json; charset=utf-8').send(body);
  }
}
