import { readFileSync } from 'node:fs';
import { containsContextWord } from './context-words.js';

/**
 * The regional password policy (ЭПОС): 8+ characters, a special character from !@#$%^&*(), a
 * digit, upper- and lower-case Latin letters, no Cyrillic. Composition rules are a documented
 * deviation from NIST 800-63B / ASVS 6.2.5 that the region requires; length, the common-password
 * list, the login check and the context words (ASVS 6.2.11) are ours. Never applied at login.
 */
export const SPECIAL_CHARACTERS = '!@#$%^&*()';
export const MIN_LENGTH = 8;
export const MAX_LENGTH = 128;

export type PasswordRuleCode =
  | 'too_short'
  | 'too_long'
  | 'no_special'
  | 'no_digit'
  | 'no_upper'
  | 'no_lower'
  | 'cyrillic'
  | 'control_character'
  | 'contains_login'
  | 'context_word'
  | 'common';

export interface PasswordRule {
  code: PasswordRuleCode;
  /** The Russian text shown in the checklist and in errors. */
  message: string;
  /** Rules a browser can evaluate itself from `pattern`; server-only rules have none. */
  pattern?: string;
  test(password: string, context: PasswordContext): boolean;
}

export interface PasswordContext {
  login?: string;
  /**
   * The person's own context words (their ФИО, their organisations' names), already split and
   * transliterated (`contextWordsOf`); the documented list in config/context-words.txt always applies.
   */
  words?: readonly string[];
}

const COMMON_PASSWORDS: ReadonlySet<string> = new Set(
  readFileSync(new URL('../../config/common-passwords.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.toLowerCase()),
);

export const commonPasswordCount = COMMON_PASSWORDS.size;

const length = (password: string) => [...password].length;

/** Each rule states what must hold; `test` returns true when the password satisfies it. */
export const PASSWORD_RULES: readonly PasswordRule[] = [
  { code: 'too_short', message: `От ${MIN_LENGTH} символов`, test: (p) => length(p) >= MIN_LENGTH },
  {
    code: 'too_long',
    message: `Не более ${MAX_LENGTH} символов`,
    test: (p) => length(p) <= MAX_LENGTH,
  },
  {
    code: 'no_special',
    message: `Хотя бы один символ ${SPECIAL_CHARACTERS}`,
    pattern: '[!@#$%^&*()]',
    test: (p) => /[!@#$%^&*()]/.test(p),
  },
  {
    code: 'no_digit',
    message: 'Хотя бы одна цифра',
    pattern: '[0-9]',
    test: (p) => /[0-9]/.test(p),
  },
  {
    code: 'no_upper',
    message: 'Хотя бы одна прописная латинская буква (A–Z)',
    pattern: '[A-Z]',
    test: (p) => /[A-Z]/.test(p),
  },
  {
    code: 'no_lower',
    message: 'Хотя бы одна строчная латинская буква (a–z)',
    pattern: '[a-z]',
    test: (p) => /[a-z]/.test(p),
  },
  {
    code: 'cyrillic',
    message: 'Недопустима кириллица',
    test: (p) => !/\p{Script=Cyrillic}/u.test(p),
  },
  {
    code: 'control_character',
    message: 'Недопустимы управляющие символы',
    test: (p) => !/\p{Cc}/u.test(p),
  },
  {
    code: 'contains_login',
    message: 'Пароль не должен содержать логин',
    test: (p, { login }) =>
      !login || login.length < 3 || !p.toLowerCase().includes(login.toLowerCase()),
  },
  {
    code: 'context_word',
    message:
      'Пароль не должен содержать названия сервиса, региона, школы или организации, ваши фамилию, имя или отчество',
    test: (p, { words }) => !containsContextWord(p, words),
  },
  {
    code: 'common',
    message: 'Пароль слишком распространён, придумайте другой',
    test: (p) => !COMMON_PASSWORDS.has(p.toLowerCase()),
  },
];

export interface PasswordViolation {
  code: PasswordRuleCode;
  message: string;
}

/** Every broken rule, in policy order; an empty list means the password is acceptable. */
export function checkPassword(
  password: string,
  context: PasswordContext = {},
): PasswordViolation[] {
  return PASSWORD_RULES.filter((rule) => !rule.test(password, context)).map(
    ({ code, message }) => ({ code, message }),
  );
}

/** The policy as data for user interfaces (`GET /api/v1/password-policy`). */
export function describePolicy() {
  return {
    minLength: MIN_LENGTH,
    maxLength: MAX_LENGTH,
    specialCharacters: SPECIAL_CHARACTERS,
    rules: PASSWORD_RULES.map(({ code, message, pattern }) => ({
      code,
      message,
      ...(pattern && { pattern }),
    })),
  };
}
