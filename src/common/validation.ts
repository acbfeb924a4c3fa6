import { type ArgumentMetadata, ValidationPipe, type ValidationError } from '@nestjs/common';
import { isEmail, Matches, ValidateBy, ValidateIf } from 'class-validator';
import { ValidationFailedError, type FieldErrors } from './errors.js';

/**
 * class-validator constraint names mapped to stable codes. A built-in constraint may carry its own
 * code and text in its context (`context: { code, message }`); a custom constraint named
 * `code:<code>` reports that code with its own message (the password policy rules do).
 */
export const CODE_PREFIX = 'code:';

/**
 * An optional field: the key may be left out. Unlike class-validator's `@IsOptional()`, a `null`
 * is validated like any other value, so it is refused (422) wherever the field has no meaning for
 * it; a field where `null` removes a value says so with `@IsOptional()` and handles it.
 */
export const Optional = () => ValidateIf((_object: object, value: unknown) => value !== undefined);

const CODES: Record<string, string> = {
  whitelistValidation: 'unknown_field',
  isString: 'not_string',
  isNotEmpty: 'required',
  isDefined: 'required',
  isEmail: 'invalid_email',
  maxLength: 'too_long',
  minLength: 'too_short',
  isLength: 'invalid_length',
  arrayMinSize: 'too_few',
  arrayMaxSize: 'too_many',
  arrayUnique: 'duplicates',
  isEnum: 'not_allowed',
  isUrl: 'invalid_url',
  equals: 'not_allowed',
  matches: 'invalid_format',
  isArray: 'not_array',
  isIn: 'not_allowed',
  isBoolean: 'not_boolean',
  isInt: 'not_integer',
  isUuid: 'invalid_uuid',
};

const MESSAGES: Record<string, string> = {
  unknown_field: 'Поле не поддерживается',
  not_string: 'Ожидается строка',
  required: 'Обязательное поле',
  invalid_email: 'Некорректный адрес электронной почты',
  too_long: 'Слишком длинное значение',
  too_short: 'Слишком короткое значение',
  invalid_length: 'Недопустимая длина',
  too_few: 'Слишком мало значений',
  too_many: 'Слишком много значений',
  duplicates: 'Значения повторяются',
  invalid_url: 'Некорректный адрес',
  invalid_format: 'Недопустимый формат',
  not_array: 'Ожидается список',
  not_allowed: 'Недопустимое значение',
  not_boolean: 'Ожидается логическое значение',
  not_integer: 'Ожидается целое число',
  invalid_uuid: 'Некорректный идентификатор',
  invalid: 'Недопустимое значение',
};

export function flattenValidationErrors(errors: ValidationError[], prefix = ''): FieldErrors {
  const result: FieldErrors = {};
  for (const error of errors) {
    const field = prefix + error.property;
    const contexts = error.contexts ?? {};
    for (const [constraint, text] of Object.entries(error.constraints ?? {})) {
      if (constraint.startsWith(CODE_PREFIX)) {
        (result[field] ??= []).push({ code: constraint.slice(CODE_PREFIX.length), message: text });
        continue;
      }
      const context = contexts[constraint] as { code?: string; message?: string } | undefined;
      const code = context?.code ?? CODES[constraint] ?? 'invalid';
      const message = context?.message ?? MESSAGES[code] ?? MESSAGES.invalid;
      (result[field] ??= []).push({ code, message });
    }
    if (error.children?.length)
      Object.assign(result, flattenValidationErrors(error.children, `${field}.`));
  }
  return result;
}

/** Keys that name an object's prototype machinery: never a field, never silently dropped. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The paths of prototype keys anywhere in a parsed JSON body (`__proto__`, `a.constructor`). */
function prototypeKeys(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  return Object.keys(value).flatMap((key) => [
    ...(PROTOTYPE_KEYS.has(key) ? [`${prefix}${key}`] : []),
    ...prototypeKeys((value as Record<string, unknown>)[key], `${prefix}${key}.`),
  ]);
}

/**
 * class-transformer leaves `__proto__`, `constructor` and `prototype` out of the DTO, so the
 * whitelist never sees them and they were dropped without a word: they are refused like every
 * other unknown field (422 `unknown_field`).
 */
class ServiceValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body') {
      const found = prototypeKeys(value);
      if (found.length > 0)
        throw new ValidationFailedError(
          Object.fromEntries(
            found.map((key) => [key, [{ code: 'unknown_field', message: MESSAGES.unknown_field }]]),
          ),
        );
    }
    return super.transform(value, metadata);
  }
}

/** The one validation pipe: unknown fields are an error, payloads become DTO instances. */
export function createValidationPipe(): ValidationPipe {
  return new ServiceValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => new ValidationFailedError(flattenValidationErrors(errors)),
  });
}

/**
 * Free-text fields (names, positions, banners) end up in e-mail headers and CSV: one line, no
 * control characters. Nor an unpaired UTF-16 surrogate (`\p{Cs}`): that is not text at all, and
 * PostgreSQL refuses it in JSON (a recovery request's job data: a 500).
 */
export function NoControlCharacters(): PropertyDecorator {
  return Matches(/^[^\p{Cc}\p{Cs}]*$/u, {
    context: {
      code: 'control_character',
      message: 'Недопустимы управляющие символы и переводы строк',
    },
  });
}

/**
 * `@IsEmail` with the code `invalid_email`, that also refuses quotes and control characters (a
 * quoted local part is a second spelling of an address, or a mail header in disguise) and an
 * unpaired UTF-16 surrogate (the validator library measures an address with encodeURI, which
 * throws on one: a 500 instead of a 422).
 */
export function IsEmailAddress(): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isEmail',
      validator: {
        // No quoted local part (`"x\r\nBcc:…"@…`, `"dup"@…`: a second spelling of an address or a
        // header in disguise), no control character, no unpaired surrogate.
        validate: (value: unknown) =>
          typeof value === 'string' && !/[\p{Cs}\p{Cc}"]/u.test(value) && isEmail(value),
        defaultMessage: () => '$property must be an e-mail address',
      },
    },
    { context: { code: 'invalid_email', message: 'Некорректный адрес электронной почты' } },
  );
}

/**
 * The pipe's checks for a payload a page has assembled from its form (the pages show errors next
 * to their fields instead of answering 422 JSON). Throws ValidationFailedError like the pipe.
 */
export async function validatePayload<T extends object>(
  type: new () => T,
  payload: Record<string, unknown>,
): Promise<T> {
  return (await createValidationPipe().transform(payload, {
    type: 'body',
    metatype: type,
  })) as T;
}
