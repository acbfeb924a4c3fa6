import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { ValidationFailedError } from '../common/errors.js';
import { flattenValidationErrors } from '../common/validation.js';

/**
 * The options as the API's request DTO, validated as the API's pipe does (whitelist, no unknown
 * fields): one set of rules for both, errors keyed by field.
 */
export async function validated<T extends object>(type: new () => T, plain: object): Promise<T> {
  const instance = plainToInstance(type, plain);
  const errors = await validate(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw new ValidationFailedError(flattenValidationErrors(errors));
  return instance;
}
