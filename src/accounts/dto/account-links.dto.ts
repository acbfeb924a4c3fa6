import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Length, MaxLength } from 'class-validator';
import { NoControlCharacters } from '../../common/validation.js';
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
}

export class RecoveryAnswer {
  @ApiProperty() message!: string;
}
