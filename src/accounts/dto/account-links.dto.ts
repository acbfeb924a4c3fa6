import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsString, Length, MaxLength } from 'class-validator';
import { NoControlCharacters, Optional } from '../../common/validation.js';
import { trimmed } from './fields.js';

export class VerifyEmailDto {
  @ApiProperty({ description: 'Токен из ссылки в письме' })
  @IsString()
  @MaxLength(100)
  token!: string;
}

export class RecoveryRequestDto {
  @ApiProperty({ example: 'ivanova.m', description: 'Логин или подтверждённый адрес e-mail' })
  @Transform(trimmed)
  @IsString()
  @Length(1, 254)
  @NoControlCharacters()
  identifier!: string;
}

export class RecoveryPasswordDto {
  @ApiProperty({ description: 'Токен из ссылки в письме' })
  @IsString()
  @MaxLength(100)
  token!: string;

  @ApiProperty({ description: 'Политика паролей: GET /api/v1/password-policy' })
  @IsString()
  @MaxLength(1024)
  newPassword!: string;

  @ApiProperty()
  @IsString()
  @MaxLength(1024)
  newPasswordRepeat!: string;

  @ApiPropertyOptional({
    default: false,
    description:
      'Оставить привязку профиля Госуслуг. По умолчанию сброс пароля её удаляет: профиль мог привязать тот, кто завёл учётную запись на ваш адрес',
  })
  @Optional()
  @IsBoolean()
  keepGosuslugi?: boolean;
}

export class RecoveryAnswer {
  @ApiProperty() message!: string;
}
