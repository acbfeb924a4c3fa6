import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
} from 'class-validator';
import { validatePayload } from '../../common/validation.js';
import { AddMemberDto } from '../../pos/dto/member.dto.js';
import { UpdateOrganizationDto } from '../../pos/dto/organization.dto.js';
import { WIDGET_VARIANTS, WidgetDto } from '../../pos/widget.service.js';

/*
 * The /pos/admin forms as the browser posts them: strings of bounded length. What they mean is
 * checked by the API's own DTOs (validatePayload below), so a refusal comes back as the page with
 * Russian messages under the fields rather than the pipe's JSON 422.
 */

const asList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? [value] : value;

class OrganizationFormDto {
  @IsString()
  @MaxLength(100)
  csrf!: string;

  @IsUUID('4')
  organizationId!: string;
}

export class AddMemberFormDto extends OrganizationFormDto {
  @IsString()
  @MaxLength(1000)
  email!: string;

  @IsString()
  @MaxLength(1000)
  lastName!: string;

  @IsString()
  @MaxLength(1000)
  firstName!: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  middleName?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  snils?: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  position?: string;

  /** Checkboxes: absent when none is ticked, a string for one, a list for several. */
  @IsOptional()
  @Transform(asList)
  @IsArray()
  @ArrayMaxSize(20)
  @IsString({ each: true })
  @MaxLength(50, { each: true })
  roles?: string[];
}

export class MemberActionFormDto extends OrganizationFormDto {}

export class OrganizationDataFormDto extends OrganizationFormDto {
  @IsString()
  @MaxLength(1000)
  name!: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  officialSiteUrl?: string;
}

export class WidgetFormDto extends OrganizationFormDto {
  @IsIn(WIDGET_VARIANTS)
  variant!: string;

  @IsOptional()
  @IsString()
  @MaxLength(1000)
  bannerText?: string;

  @IsString()
  @MaxLength(1000)
  siteUrl!: string;
}

/** An optional field left empty. `null` too: the form DTOs allow it, and a JSON post can send it. */
function emptyToUndefined(value: string | null | undefined): string | undefined {
  return value === undefined || value === null || value.trim() === '' ? undefined : value;
}

/** «Добавить пользователя» as `POST /api/v1/pos/organizations/:id/members` takes it. */
export function addMemberPayload(form: AddMemberFormDto): Promise<AddMemberDto> {
  return validatePayload(AddMemberDto, {
    email: form.email,
    lastName: form.lastName,
    firstName: form.firstName,
    ...(emptyToUndefined(form.middleName) && { middleName: form.middleName }),
    ...(emptyToUndefined(form.snils) && { snils: form.snils }),
    ...(emptyToUndefined(form.position) && { position: form.position }),
    roles: form.roles ?? [],
  });
}

export function organizationPayload(form: OrganizationDataFormDto): Promise<UpdateOrganizationDto> {
  return validatePayload(UpdateOrganizationDto, {
    name: form.name,
    officialSiteUrl: emptyToUndefined(form.officialSiteUrl) ?? null,
  });
}

export function widgetPayload(form: WidgetFormDto): Promise<WidgetDto> {
  return validatePayload(WidgetDto, {
    variant: form.variant,
    siteUrl: form.siteUrl,
    ...(emptyToUndefined(form.bannerText) && { bannerText: form.bannerText }),
  });
}
