import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IsEmailAddress } from '../../common/validation.js';
import { PHONE_PATTERN, trimmed, toPhone } from './fields.js';

/** «Личный кабинет»: only e-mail and phone are the person's to change here; `null` removes one. */
export class UpdateProfileDto {
  @ApiPropertyOptional({ nullable: true, example: 'ivanova@example.ru' })
  @IsOptional()
  @Transform(trimmed)
  @IsEmailAddress()
  @MaxLength(254)
  email?: string | null;

  @ApiPropertyOptional({ nullable: true, example: '+79123456789' })
  @IsOptional()
  @Transform(toPhone)
  @IsString()
  @Matches(PHONE_PATTERN, {
    context: { code: 'invalid_phone', message: 'Некорректный номер телефона' },
  })
  phone?: string | null;
}
