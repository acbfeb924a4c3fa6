import { ApiProperty } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, MaxLength } from 'class-validator';

export class ReauthenticateDto {
  @ApiProperty()
  @IsString()
  @MaxLength(1024)
  password!: string;

  @ApiProperty({
    required: false,
    description:
      'Код из приложения или резервный код: обязателен, если включена двухфакторная аутентификация',
  })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  code?: string;

  @ApiProperty({
    required: false,
    type: Object,
    description:
      'Вместо code — ответ ключа доступа (passkey) на параметры из ' +
      'POST /api/v1/me/mfa/passkeys/reauthentication-options; amr нового сеанса — ["pwd","hwk"]',
  })
  @IsOptional()
  @IsObject()
  assertion?: Record<string, unknown>;
}
