import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Optional } from '../../common/validation.js';
import { InviteeEmail, NamePart, NameText, SnilsText } from './invitee-fields.js';

/**
 * Corrections to an invitation still out («Приглашен»): the ФИО and СНИЛС the acceptance is
 * checked against, and the address. Absent fields stay as they are; an empty middle name or
 * СНИЛС removes it.
 */
export class EditInviteeDto {
  @ApiPropertyOptional({ example: 'director@school5.example.ru' })
  @Optional()
  @InviteeEmail()
  email?: string;

  @ApiPropertyOptional({ example: 'Соколова' })
  @Optional()
  @NamePart()
  lastName?: string;

  @ApiPropertyOptional({ example: 'Анна' })
  @Optional()
  @NamePart()
  firstName?: string;

  @ApiPropertyOptional({ example: 'Павловна', description: 'Пустая строка — без отчества' })
  @Optional()
  @NameText(100)
  middleName?: string;

  @ApiPropertyOptional({ example: '112-233-445 95', description: 'Пустая строка — без СНИЛС' })
  @Optional()
  @SnilsText({ allowEmpty: true })
  snils?: string;
}

export class ResendAllResponse {
  @ApiProperty({ description: 'Приглашений отправлено' }) sent!: number;
  @ApiProperty({ description: 'Пропущено: адрес исчерпал лимит повторных отправок за час' })
  skipped!: number;
}
