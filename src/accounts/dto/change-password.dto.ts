import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { Optional } from '../../common/validation.js';

export class ChangePasswordDto {
  @ApiPropertyOptional({
    description:
      'Обязателен, если пароль уже есть. Учётная запись без пароля (созданная приглашением через Госуслуги) задаёт первый пароль без него, после недавнего входа',
  })
  @Optional()
  @IsString()
  @MaxLength(1024)
  currentPassword?: string;

  /** Checked against the policy (with the login) by the service, with the other fields. */
  @ApiProperty({ description: 'Политика паролей: GET /api/v1/password-policy' })
  @IsString()
  newPassword!: string;

  @ApiProperty()
  @IsString()
  @MaxLength(1024)
  newPasswordRepeat!: string;
}
