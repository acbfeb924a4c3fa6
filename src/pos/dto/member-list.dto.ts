import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { NoControlCharacters, Optional, validatePayload } from '../../common/validation.js';
import { ROLE_CODES, type PosRole } from '../roles.js';
import { MemberResponse } from './member.dto.js';

/** Sort keys of the member list; a leading «-» is descending. Ties are broken by id. */
export const MEMBER_SORTS = [
  'name',
  '-name',
  'email',
  '-email',
  'status',
  '-status',
  'invited',
  '-invited',
] as const;
export type MemberSort = (typeof MEMBER_SORTS)[number];

export const MEMBER_STATUSES = ['invited', 'registered', 'confirmed', 'archived'] as const;
export type MemberStatusFilter = (typeof MEMBER_STATUSES)[number];

export const MEMBER_PAGE_SIZE = 50;
export const MEMBER_PAGE_MAX = 100;

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : value;

/** `GET /api/v1/pos/organizations/:id/members` and the members tab: one query, one set of checks. */
export class MemberListQuery {
  @ApiPropertyOptional({ description: 'Часть ФИО или адреса e-mail, без учёта регистра' })
  @Optional()
  @IsString()
  @MaxLength(100)
  @NoControlCharacters()
  search?: string;

  @ApiPropertyOptional({
    enum: MEMBER_STATUSES,
    description: 'Без статуса — все, кроме архива',
  })
  @Optional()
  @IsIn(MEMBER_STATUSES, { context: { code: 'unknown_status', message: 'Неизвестный статус' } })
  status?: MemberStatusFilter;

  @ApiPropertyOptional({ enum: ROLE_CODES })
  @Optional()
  @IsIn(ROLE_CODES, { context: { code: 'unknown_role', message: 'Неизвестная роль' } })
  role?: PosRole;

  @ApiPropertyOptional({ enum: MEMBER_SORTS, default: 'name' })
  @Optional()
  @IsIn(MEMBER_SORTS, { context: { code: 'unknown_sort', message: 'Неизвестный порядок' } })
  sort?: MemberSort;

  @ApiPropertyOptional({ description: 'nextCursor или prevCursor предыдущего ответа' })
  @Optional()
  @IsString()
  @MaxLength(1000)
  cursor?: string;

  @ApiPropertyOptional({ default: MEMBER_PAGE_SIZE, minimum: 1, maximum: MEMBER_PAGE_MAX })
  @Optional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(MEMBER_PAGE_MAX)
  limit?: number;

  @ApiPropertyOptional({
    enum: ['true', 'false'],
    description: 'Устаревшее: то же, что status=archived',
  })
  @Optional()
  @IsIn(['true', 'false'])
  archived?: string;
}

/** The list's query from the parameters given (absent or empty ones left out), checked: 422 by field. */
export function memberListQuery(raw: Record<string, unknown>): Promise<MemberListQuery> {
  return validatePayload(
    MemberListQuery,
    Object.fromEntries(
      Object.entries(raw).filter(([, value]) => value !== undefined && value !== ''),
    ),
  );
}

export class MemberCounts {
  @ApiProperty() invited!: number;
  @ApiProperty() registered!: number;
  @ApiProperty() confirmed!: number;
  @ApiProperty() archived!: number;
}

export class MemberPage {
  @ApiProperty({ type: [MemberResponse] }) items!: MemberResponse[];
  @ApiProperty({ type: MemberCounts, description: 'По статусам, с учётом поиска и роли' })
  counts!: MemberCounts;
  @ApiPropertyOptional({ nullable: true }) nextCursor!: string | null;
  @ApiPropertyOptional({ nullable: true }) prevCursor!: string | null;
}
