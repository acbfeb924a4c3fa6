import { IsOptional, IsString, MaxLength } from 'class-validator';
import { validatePayload } from '../../common/validation.js';
import { AddMemberDto } from '../../pos/dto/member.dto.js';

/**
 * The person a form names («Добавить пользователя», the operator's first administrator, an
 * invitee's corrections) as the browser posts it: strings of bounded length. What they mean is
 * checked by the API's own DTOs afterwards (validatePayload), so a refusal is the page with Russian
 * messages under the fields rather than the pipe's JSON 422.
 */
export class PersonFormFields {
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
}

/** An optional field left empty. `null` too: the form DTOs allow it, and a JSON post can send it. */
export function emptyToUndefined(value: string | null | undefined): string | undefined {
  return value === undefined || value === null || value.trim() === '' ? undefined : value;
}

/** The person with `roles`, as `POST /api/v1/pos/organizations/:id/members` takes it. */
export function addMemberPayload(
  form: PersonFormFields,
  roles: readonly string[],
): Promise<AddMemberDto> {
  return validatePayload(AddMemberDto, {
    email: form.email,
    lastName: form.lastName,
    firstName: form.firstName,
    ...(emptyToUndefined(form.middleName) && { middleName: form.middleName }),
    ...(emptyToUndefined(form.snils) && { snils: form.snils }),
    ...(emptyToUndefined(form.position) && { position: form.position }),
    roles,
  });
}
