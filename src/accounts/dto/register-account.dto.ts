import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Matches, MaxLength } from 'class-validator';
import { IsEmailAddress, Optional } from '../../common/validation.js';
import { SatisfiesPasswordPolicy } from '../password-policy.decorator.js';
import { LOGIN_PATTERN, PHONE_PATTERN, trimmed, toPhone } from './fields.js';

export class RegisterAccountDto {
  @ApiProperty({
    example: 'ivanova.m',
    description: 'Латиница, цифры, точка, дефис, подчёркивание; 3–64 символа',
  })
  @IsString()
  @Matches(LOGIN_PATTERN, {
    context: {
      code: 'invalid_login',
      message: 'Логин: 3–64 символа, латинские буквы, цифры, «.», «-», «_»',
    },
  })
  login!: string;

  @ApiProperty({
    example: 'Zvezda#2026',
    description: 'Политика паролей: GET /api/v1/password-policy',
  })
  @IsString()
  @SatisfiesPasswordPolicy({ loginProperty: 'login' })
  password!: string;

  @ApiPropertyOptional({
    example: 'ivanova@example.ru',
    description: 'Не подтверждён, пока не пройдена ссылка из письма',
  })
  @Optional()
  @Transform(trimmed)
  @IsEmailAddress()
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ example: '+7 912 345-67-89' })
  @Optional()
  @Transform(toPhone)
  @IsString()
  @Matches(PHONE_PATTERN, {
    context: { code: 'invalid_phone', message: 'Некорректный номер телефона' },
  })
  phone?: string;
}
