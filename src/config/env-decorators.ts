import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  Validate,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { parseDuration } from './duration.js';

/*
 * One decorator per kind of environment variable, so each property of EnvSchema says what its
 * variable is rather than repeating how it is checked. Every value arrives as text, and every
 * variable may be unset: it then keeps its default, or stays undefined where it has none (which
 * of those production requires is loadConfig's business). On a property with a default the
 * IsOptional these decorators add never applies: an unset variable leaves the default in place.
 */

@ValidatorConstraint({ name: 'duration' })
class IsDuration implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return typeof value === 'string' && parseDuration(value) !== undefined;
  }
  defaultMessage(): string {
    return '$property must be a duration such as 15m, 12h or 30s';
  }
}

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;

/**
 * Applies the decorators as if they were written above the property in this order, the last one
 * first: class-validator reports a value's problems in the order a written stack gives.
 */
function stack(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => {
    for (const decorator of [...decorators].reverse()) decorator(target, key);
  };
}

/** A whole number written in decimal digits, at least `min` and, when given, at most `max`. */
export function EnvInt(min: number, max?: number): PropertyDecorator {
  const bounds = max === undefined ? [Min(min)] : [Min(min), Max(max)];
  return stack(IsOptional(), Transform(toInt), IsInt(), ...bounds);
}

/** A duration such as `15m`, `12h`, `500ms` (read with parseDuration). */
export function EnvDuration(): PropertyDecorator {
  return stack(IsOptional(), Validate(IsDuration));
}

/** `true` or `false`, kept as text: the configuration compares it with `'true'`. */
export function EnvBool(): PropertyDecorator {
  return EnvOneOf(['true', 'false']);
}

export function EnvOneOf(values: readonly string[]): PropertyDecorator {
  return stack(IsOptional(), IsIn([...values]));
}

/** Text of the shape `pattern`; the problem reads «NAME must be `mustBe`». */
export function EnvMatches(pattern: RegExp, mustBe: string): PropertyDecorator {
  return stack(IsOptional(), Matches(pattern, { message: `$property must be ${mustBe}` }));
}

export function EnvString(): PropertyDecorator {
  return stack(IsOptional(), IsString());
}
