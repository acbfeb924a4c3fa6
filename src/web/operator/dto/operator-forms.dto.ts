import { IntersectionType } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { CsrfFormDto } from '../../../rendering/csrf.js';
import { PersonFormFields } from '../../dto/person-form.dto.js';

/**
 * The operator's forms as the browser posts them: strings of bounded length only. What they mean
 * is checked by the services' own DTOs (validatePayload), whose Russian messages go under the
 * fields.
 */
export class OperatorFormDto extends CsrfFormDto {}

export class CreateOrganizationFormDto extends OperatorFormDto {
  @IsString()
  @MaxLength(1000)
  name!: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  kind?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  parentId?: string;
}

export class RenameOrganizationFormDto extends OperatorFormDto {
  @IsString()
  @MaxLength(1000)
  name!: string;
}

export class MoveOrganizationFormDto extends OperatorFormDto {
  /** Another organisation's id, or `top` for the top level. */
  @IsString()
  @MaxLength(100)
  parentId!: string;
}

/** The first «Администратор ЛКО» of an organisation. */
export class InviteAdminFormDto extends IntersectionType(OperatorFormDto, PersonFormFields) {}

export class AddOperatorFormDto extends OperatorFormDto {
  @IsString()
  @MaxLength(200)
  login!: string;
}

export const USER_ACTIONS = ['block', 'unblock', 'archive', 'end-sessions', 'mfa-reset'] as const;
export type UserAction = (typeof USER_ACTIONS)[number];

export class UserActionFormDto extends OperatorFormDto {
  /** The search to come back to. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;
}

/**
 * «Новое приложение»: the addresses one per line, as typed into the textareas; the checkboxes
 * are sent only when ticked. ClientsService checks what they mean, as for `client:create`.
 */
export class CreateClientFormDto extends OperatorFormDto {
  @IsString()
  @MaxLength(1000)
  name!: string;

  @IsString()
  @MaxLength(20_000)
  redirectUris!: string;

  @IsOptional()
  @IsString()
  @MaxLength(20_000)
  postLogoutRedirectUris?: string;

  @IsOptional()
  @IsString()
  @MaxLength(2048)
  backchannelLogoutUri?: string;

  /** `confidential` (with a secret) or `public` (PKCE only). */
  @IsOptional()
  @IsString()
  @MaxLength(100)
  type?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  firstParty?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  requiredAcr?: string;
}
