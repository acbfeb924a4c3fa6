import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { Optional } from '../../common/validation.js';

export class TokenRequestDto {
  @ApiPropertyOptional({
    example: 'epos-diary',
    description:
      'Получатель токена (aud): одно из ACCESS_TOKEN_AUDIENCES. Без него — токен для API самого сервиса; ' +
      'токен другого получателя этот API не принимает. Неизвестный получатель — 422 с кодом unknown_audience',
  })
  @Optional()
  @IsString()
  @MaxLength(200)
  audience?: string;
}
