import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsString,
  Length,
  MaxLength,
  ValidateBy,
} from 'class-validator';
import { trimmed } from '../../accounts/dto/fields.js';
import { CODE_PREFIX, IsEmailAddress, NoControlCharacters } from '../../common/validation.js';
import { snilsChecksumValid } from '../invitee.js';
import { ROLE_CODES } from '../roles.js';

/*
 * The fields that say who is invited and as what, as «Добавить пользователя», the import and the
 * correction of an invitation check them. Each is trimmed first. The decorators are listed in the
 * order they would apply written one under the other (innermost first), so the checks and their
 * messages come in the same order as on a written stack.
 */

const INVALID_SNILS = {
  code: 'invalid_snils',
  message:
    'СНИЛС указан с ошибкой: нужно 11 цифр (например, 112-233-445 95), контрольное число должно сходиться',
};

/** A SNILS with a right check number, in any of the usual spellings (or empty, to remove one). */
const IsSnils = (options: { allowEmpty?: boolean } = {}) =>
  ValidateBy({
    name: `${CODE_PREFIX}${INVALID_SNILS.code}`,
    validator: {
      validate: (value: unknown) =>
        typeof value === 'string' &&
        ((options.allowEmpty === true && value === '') || snilsChecksumValid(value)),
      defaultMessage: () => INVALID_SNILS.message,
    },
  });

/** The invitee's address, to which the invitation goes. */
export const InviteeEmail = () =>
  applyDecorators(MaxLength(254), IsEmailAddress(), Transform(trimmed));

/** A surname or a first name: 1 to 100 characters. */
export const NamePart = () =>
  applyDecorators(NoControlCharacters(), Length(1, 100), IsString(), Transform(trimmed));

/** A middle name or a position: up to `max` characters. */
export const NameText = (max: number) =>
  applyDecorators(NoControlCharacters(), MaxLength(max), IsString(), Transform(trimmed));

/** A SNILS as typed; `allowEmpty` where an empty one removes it. */
export const SnilsText = (options: { allowEmpty?: boolean } = {}) =>
  applyDecorators(IsSnils(options), MaxLength(20), IsString(), Transform(trimmed));

const ROLE_LIST = { context: { code: 'unknown_role', message: `Роли: ${ROLE_CODES.join(', ')}` } };

/** At least one role, each known, none twice. */
export const RoleList = () =>
  applyDecorators(
    IsIn(ROLE_CODES, { each: true, ...ROLE_LIST }),
    ArrayUnique(),
    ArrayMaxSize(ROLE_CODES.length),
    ArrayMinSize(1, { context: { code: 'roles_required', message: 'Выберите хотя бы одну роль' } }),
    IsArray(),
  );
