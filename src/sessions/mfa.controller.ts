import { Body, Controller, Delete, Get, Header, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  ApiCookieAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { Authenticated } from '../common/auth-decorators.js';
import { type AuthContext, CurrentAuth } from './auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { Errors } from '../common/errors.js';
import { PasswordChecks } from './password-checks.service.js';
import { TotpEnrolmentResponse } from './dto/second-factor.dto.js';
import { MfaEnrolment } from './mfa-enrolment.service.js';
import { SecondFactorErrors } from './second-factor.texts.js';
import { SecondFactors } from './second-factors.service.js';
import { recentlyAuthenticated } from './session-rules.js';

class MfaCodeDto {
  @ApiProperty({ example: '123456' })
  @IsString()
  @MaxLength(32)
  code!: string;
}

class MfaRemoveDto extends MfaCodeDto {
  @ApiProperty()
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;
}

class MfaStatusResponse {
  @ApiProperty() enrolled!: boolean;
  @ApiProperty({ nullable: true, type: String }) enrolledAt!: Date | null;
  @ApiProperty() recoveryCodesLeft!: number;
}

class RecoveryCodesResponse {
  @ApiProperty({ type: [String], description: '10 резервных кодов: показываются один раз' })
  recoveryCodes!: string[];
}

/** The signed-in person's second factor (what «Личный кабинет» → «Двухфакторная аутентификация» does). */
@ApiTags('me')
@ApiCookieAuth()
@Controller('api/v1/me/mfa')
export class MfaController {
  constructor(
    private readonly enrolment: MfaEnrolment,
    private readonly factors: SecondFactors,
    private readonly passwordChecks: PasswordChecks,
  ) {}

  @Get()
  @Authenticated()
  @ApiOperation({
    summary: 'Включена ли двухфакторная аутентификация, сколько резервных кодов осталось',
  })
  @ApiOkResponse({ type: MfaStatusResponse })
  status(@CurrentAuth() auth: AuthContext): Promise<MfaStatusResponse> {
    return this.enrolment.status(auth.facts.userId);
  }

  @Post('totp')
  @Authenticated({ via: 'cookie' })
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary:
      'Начать подключение приложения: секрет и QR-код (нужен недавний вход, только из браузера)',
  })
  @ApiOkResponse({ type: TotpEnrolmentResponse })
  @ApiForbiddenResponse({ description: 'reauthentication_required, browser_session_required' })
  begin(@CurrentAuth() auth: AuthContext): Promise<TotpEnrolmentResponse> {
    this.assertRecent(auth);
    return this.enrolment.begin(auth.user);
  }

  @Post('totp/confirm')
  @Authenticated({ via: 'cookie' })
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Подтвердить подключение текущим кодом: 10 резервных кодов (один раз)' })
  @ApiOkResponse({ type: RecoveryCodesResponse })
  async confirm(
    @CurrentAuth() auth: AuthContext,
    @Body() dto: MfaCodeDto,
    @Client() client: ClientInfo,
  ): Promise<RecoveryCodesResponse> {
    this.assertRecent(auth);
    const recoveryCodes = await this.enrolment.confirm(auth.user, dto.code, client);
    if (!recoveryCodes) throw SecondFactorErrors.invalidCode();
    return { recoveryCodes };
  }

  @Delete('totp')
  @Authenticated({ via: 'cookie' })
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Отключить: нужны пароль и код (из приложения или резервный)' })
  async remove(
    @CurrentAuth() auth: AuthContext,
    @Body() dto: MfaRemoveDto,
    @Client() client: ClientInfo,
  ): Promise<void> {
    const user = auth.user;
    const password = await this.passwordChecks.verifyCurrentPassword(
      user,
      dto.password ?? '',
      client,
      'reauthentication.failed',
    );
    const proved = await this.factors.verify(user, dto.code, client);
    if (!password) throw Errors.invalidCredentials();
    if (!proved) throw SecondFactorErrors.invalidCode();
    await this.enrolment.remove(user, client);
  }

  private assertRecent(auth: AuthContext): void {
    if (!recentlyAuthenticated(auth.facts)) throw Errors.reauthenticationRequired();
  }
}
