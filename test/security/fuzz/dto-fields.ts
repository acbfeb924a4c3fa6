import { getMetadataStorage } from 'class-validator';
import { type DtoClass } from './routes.js';

/** One property of a request DTO, as its class-validator decorators describe it. */
export interface DtoField {
  name: string;
  /** `@IsOptional()` or `@ValidateIf()`: absent (and null) is allowed. */
  optional: boolean;
  type: 'string' | 'boolean' | 'array' | 'unknown';
  /** The largest length the decorators allow, when they bound it. */
  maxLength?: number;
  minLength?: number;
  /** `@IsIn` / `@IsEnum` values (for arrays: of each item). */
  values?: string[];
  /** Format hints for generating values that pass: isEmail, isUuid, isUrl, matches, password... */
  formats: Set<string>;
  pattern?: RegExp;
}

/** class-validator's metadata name for a decorator (`isString`, `maxLength`, `code:too_short`...). */
function nameOf(meta: { name?: string; type: string; constraintCls?: unknown }): string {
  if (meta.name) return meta.name;
  const cls = meta.constraintCls as { name?: string } | undefined;
  return meta.type === 'customValidation' && cls?.name ? cls.name : meta.type;
}

/**
 * The properties a DTO validates, read from class-validator's metadata: the fuzzer covers exactly
 * the fields the validation pipe knows, so a new field is fuzzed without anyone listing it.
 */
export function fieldsOf(dto: DtoClass): DtoField[] {
  const metas = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  const fields = new Map<string, DtoField>();
  for (const meta of metas) {
    const field = fields.get(meta.propertyName) ?? {
      name: meta.propertyName,
      optional: false,
      type: 'unknown',
      formats: new Set<string>(),
    };
    fields.set(meta.propertyName, field);
    const name = nameOf(meta);
    const constraints = (meta.constraints ?? []) as unknown[];
    switch (name) {
      case 'isOptional':
      case 'conditionalValidation':
        field.optional = true;
        break;
      case 'isString':
        if (!meta.each) field.type = 'string';
        break;
      case 'isBoolean':
        field.type = 'boolean';
        break;
      case 'isArray':
        field.type = 'array';
        break;
      case 'maxLength':
        if (!meta.each) field.maxLength = Number(constraints[0]);
        break;
      case 'minLength':
        field.minLength = Number(constraints[0]);
        break;
      case 'isLength':
        field.minLength = Number(constraints[0]);
        field.maxLength = Number(constraints[1]);
        break;
      case 'isIn':
        field.values = (constraints[0] as unknown[]).map(String);
        break;
      case 'isEnum':
        field.values = Object.values(constraints[0] as object).map(String);
        break;
      case 'matches':
        // NoControlCharacters is a pattern too; the interesting one is a whole-value format.
        if (constraints[0] instanceof RegExp && constraints[0].source.startsWith('^[^'))
          field.formats.add('noControl');
        else if (constraints[0] instanceof RegExp) field.pattern = constraints[0];
        break;
      default:
        if (name.startsWith('code:')) field.formats.add('password');
        else field.formats.add(name);
    }
  }
  for (const field of fields.values()) {
    // `@IsEmail`/`@IsUrl`/`@IsIn` fields are strings even without `@IsString`.
    if (
      field.type === 'unknown' &&
      (field.formats.has('isEmail') || field.formats.has('isUrl') || field.formats.has('isUuid'))
    )
      field.type = 'string';
    if (field.type === 'unknown' && field.values) field.type = 'string';
  }
  return [...fields.values()].sort((a, b) => a.name.localeCompare(b.name));
}
