import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Length, MaxLength } from 'class-validator';
import { trimmed } from '../../accounts/dto/fields.js';
import { IsEmailAddress, NoControlCharacters, Optional } from '../../common/validation.js';
import { IsSnils } from './member.dto.js';

/**
 * Corrections to an invitation still out («Приглашен»): the ФИО and СНИЛС the acceptance is
 * checked against, and the address. Absent fields stay as they are; an empty middle name or
 * СНИЛС removes it.
 */
export class EditInviteeDto {
  @ApiPropertyOptional({ example: 'director@school5.example.ru' })
  @Optional()
  @Transform(trimmed)
  @IsEmailAddress()
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ example: 'Соколова' })
  @Optional()
  @Transform(trimmed)
  @IsString()
  @Length(1, 100)
  @NoControlCharacters()
  lastName?: string;

  @ApiPropertyOptional({ example: 'Анна' })
  @Optional()
  @Transform(trimmed)
  @IsString()
  @Length(1, 100)
  @NoControlCharacters()
  firstName?: string;

  @ApiPropertyOptional({ example: 'Павловна', description: 'Пустая строка — без отчества' })
  @Optional()
  @Transform(trimmed)
  @IsString()
  @MaxLength(100)
  @NoControlCharacters()
  middleName?: string;

  @ApiPropertyOptional({ example: '112-233-445 95', description: 'Пустая строка — без СНИЛС' })
  @Optional()
  @Transform(trimmed)
  @IsString()
  @MaxLength(20)
  @IsSnils({ allowEmpty: true })
  snils?: string;
}

export class ResendAllResponse {
  @ApiProperty({ description: 'Приглашений отправлено' }) sent!: number;
  @ApiProperty({ description: 'Пропущено: адрес исчерпал лимит повторных отправок за час' })
  skipped!: number;
}
