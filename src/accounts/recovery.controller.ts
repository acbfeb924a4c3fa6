import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Authenticated, CredentialEndpoint, Public } from '../common/auth-decorators.js';
import { CurrentAuth, type AuthContext } from '../sessions/auth-context.js';
import { Client, type ClientInfo } from '../common/client-info.js';
import { RECOVERY_ANSWER } from './account-links.texts.js';
import {
  RecoveryAnswer,
  RecoveryPasswordDto,
  RecoveryRequestDto,
  VerifyEmailDto,
} from './dto/account-links.dto.js';
import { EmailVerification } from './email-verification.service.js';
import { RecoveryService } from './recovery.service.js';

/** E-mail verification and password recovery (the links sent by mail). */
@ApiTags('accounts')
@Controller('api/v1')
export class RecoveryController {
  constructor(
    private readonly recovery: RecoveryService,
    private readonly verification: EmailVerification,
  ) {}

  @Post('auth/recovery')
  @Public()
  @CredentialEndpoint()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Восстановление пароля: письмо на подтверждённый адрес; ответ всегда один и тот же',
  })
  async request(
    @Body() dto: RecoveryRequestDto,
    @Client() client: ClientInfo,
  ): Promise<RecoveryAnswer> {
    await this.recovery.request(dto.identifier, client);
    return { message: RECOVERY_ANSWER };
  }

  @Post('auth/recovery/password')
  @Public()
  @CredentialEndpoint()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Новый пароль по ссылке восстановления; все сеансы завершаются' })
  reset(@Body() dto: RecoveryPasswordDto, @Client() client: ClientInfo): Promise<void> {
    return this.recovery.reset(dto.token, dto.newPassword, dto.newPasswordRepeat, client, {
      keepGosuslugi: dto.keepGosuslugi === true,
    });
  }

  @Post('accounts/email-verification')
  @Public()
  @CredentialEndpoint()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Подтвердить адрес e-mail по ссылке из письма' })
  async verify(@Body() dto: VerifyEmailDto, @Client() client: ClientInfo): Promise<void> {
    await this.verification.verify(dto.token, client);
  }

  @Post('me/email/verification')
  @Authenticated()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Отправить письмо для подтверждения адреса ещё раз' })
  resend(@CurrentAuth() auth: AuthContext, @Client() client: ClientInfo): Promise<void> {
    return this.verification.resend(auth.user, client, auth.session);
  }
}
