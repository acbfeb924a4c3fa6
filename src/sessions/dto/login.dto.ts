import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

/** No composition rules at login: only a bound on size, so nobody makes us hash megabytes. */
export class LoginDto {
  @ApiProperty({ example: 'ivanova.m' })
  @IsString()
  @MaxLength(254)
  login!: string;

  @ApiProperty()
  @IsString()
  @MaxLength(1024)
  password!: string;
}

export class AccessTokenResponse {
  @ApiProperty({ description: 'JWT (ES256/EdDSA), проверяется по /.well-known/jwks.json' })
  accessToken!: string;
  @ApiProperty({ example: 'Bearer' }) tokenType!: 'Bearer';
  @ApiProperty({ description: 'Срок жизни в секундах', example: 900 }) expiresIn!: number;
}
