import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

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
}
