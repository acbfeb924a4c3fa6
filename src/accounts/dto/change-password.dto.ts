import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

export class ChangePasswordDto {
  @ApiProperty()
  @IsString()
  @MaxLength(1024)
  currentPassword!: string;

  /** Checked against the policy (with the login) by the service, with the other fields. */
  @ApiProperty({ description: 'Политика паролей: GET /api/v1/password-policy' })
  @IsString()
  newPassword!: string;

  @ApiProperty()
  @IsString()
  @MaxLength(1024)
  newPasswordRepeat!: string;
}
