import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';

/** The confirmation form: the pending link's state, bound to this browser's transaction cookie. */
export class ConfirmLinkDto {
  @ApiProperty()
  @IsString()
  @MaxLength(100)
  state!: string;
}
