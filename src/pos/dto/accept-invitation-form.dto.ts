import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

/** The landing page's acceptance form: its token and, when signed in, into which account. */
export class AcceptInvitationFormDto {
  @ApiProperty()
  @IsString()
  @MaxLength(100)
  csrf!: string;

  @ApiPropertyOptional({
    enum: ['account'],
    description: '«Принять в эту учётную запись»: привязать Госуслуги к текущей учётной записи',
  })
  @IsOptional()
  @IsIn(['account'])
  into?: 'account';
}
