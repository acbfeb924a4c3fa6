import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

export class ReauthenticateDto {
  @ApiProperty()
  @IsString()
  @MaxLength(1024)
  password!: string;
}
