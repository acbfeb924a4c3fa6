import { registerDecorator, type ValidationArguments } from 'class-validator';
import { CODE_PREFIX } from '../common/validation.js';
import { PASSWORD_RULES } from './password-policy.js';

/**
 * Applies every password policy rule as its own class-validator constraint, so a DTO reports each
 * broken rule with its code next to the other field errors in one 422. `loginProperty` names the
 * sibling field holding the login for the "contains login" rule.
 */
export function SatisfiesPasswordPolicy(
  options: { loginProperty?: string } = {},
): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    for (const rule of PASSWORD_RULES) {
      registerDecorator({
        name: `${CODE_PREFIX}${rule.code}`,
        target: target.constructor,
        propertyName: propertyName as string,
        validator: {
          defaultMessage: () => rule.message,
          validate(value: unknown, args: ValidationArguments): boolean {
            if (typeof value !== 'string') return true; // @IsString reports the type
            const login = options.loginProperty
              ? (args.object as Record<string, unknown>)[options.loginProperty]
              : undefined;
            return rule.test(value, { login: typeof login === 'string' ? login : undefined });
          },
        },
      });
    }
  };
}
