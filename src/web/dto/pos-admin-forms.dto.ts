import { IntersectionType } from '@nestjs/swagger';
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
import { CsrfFormDto } from '../../rendering/csrf.js';
import { UpdateOrganizationDto } from '../../pos/dto/organization.dto.js';
import { WIDGET_VARIANTS, WidgetDto } from '../../pos/widget.service.js';
import { emptyToUndefined, PersonFormFields } from './person-form.dto.js';

/*
 * The /pos/admin forms as the browser posts them: strings of bounded length. What they mean is
 * checked by the API's own DTOs (validatePayload below), so a refusal comes back as the page with
 * Russian messages under the fields rather than the pipe's JSON 422.
 */

const asList = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? [value] : value;

class OrganizationFormDto extends CsrfFormDto {
  @IsUUID('4')
  organizationId!: string;
}

/** «Добавить пользователя»: the person and the roles ticked. */
export class AddMemberFormDto extends IntersectionType(OrganizationFormDto, PersonFormFields) {
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
