import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

/** The confirmation form: the pending link's state, bound to this browser's transaction cookie. */
export class ConfirmLinkDto {
  @ApiProperty()
  @IsString()
  @MaxLength(100)
  state!: string;

  /** «Сделать этот адрес e-mail учётной записи»: offered only to an account with no e-mail. */
  @ApiPropertyOptional({ enum: ['1'] })
  @IsOptional()
  @IsIn(['1'])
  useEmail?: '1';
}
