import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class TokenRequestDto {
  @ApiPropertyOptional({
    example: 'epos-diary',
    description:
      'Получатель токена (aud): одно из ACCESS_TOKEN_AUDIENCES. Без него — токен для API самого сервиса; ' +
      'токен другого получателя этот API не принимает. Неизвестный получатель — 422 с кодом unknown_audience',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  audience?: string;
}
