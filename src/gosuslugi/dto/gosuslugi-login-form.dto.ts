import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

/** «Войти через Госуслуги» on the login page: its form token and where to go afterwards. */
export class GosuslugiLoginFormDto {
  @ApiProperty()
  @IsString()
  @MaxLength(100)
  csrf!: string;

  @ApiPropertyOptional({ description: 'Только локальный путь' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  returnTo?: string;
}
