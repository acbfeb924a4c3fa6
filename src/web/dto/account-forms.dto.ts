import { IsOptional, IsString, MaxLength } from 'class-validator';
import { CsrfFormDto } from '../../rendering/csrf.js';
import { PasswordInput } from '../form-fields.js';

/*
 * «Личный кабинет» posts strings of bounded length: the profile and password fields are checked by
 * the API's own DTOs afterwards (validatePayload), so a refusal is the page with messages under the
 * fields, not the pipe's JSON 422.
 */

/** The e-mail and phone of an account, as «Личный кабинет» and /register post them. */
export class ContactFormFields extends CsrfFormDto {
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  email?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  phone?: string;
}

export class AccountFormDto extends ContactFormFields {
  @IsOptional()
  @PasswordInput()
  currentPassword?: string;

  @IsOptional()
  @PasswordInput()
  password?: string;

  @IsOptional()
  @PasswordInput()
  passwordRepeat?: string;
}

/** «Выйти», or «Это не я» on an invitation page: back there afterwards (a local path only). */
export class LogoutFormDto extends CsrfFormDto {
  @IsOptional()
  @IsString()
  @MaxLength(512)
  returnTo?: string;
}
