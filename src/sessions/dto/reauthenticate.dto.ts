import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { PasskeyAssertion, SecondFactorCode } from './second-factor-fields.js';

export class ReauthenticateDto {
  @ApiProperty()
  @IsString()
  @MaxLength(1024)
  password!: string;

  @SecondFactorCode({
    description:
      'Код из приложения или резервный код: обязателен, если включена двухфакторная аутентификация',
  })
  code?: string;

  @PasskeyAssertion(
    'Вместо code — ответ ключа доступа (passkey) на параметры из ' +
      'POST /api/v1/me/mfa/passkeys/reauthentication-options; amr нового сеанса — ["pwd","hwk"]',
  )
  assertion?: Record<string, unknown>;
}
