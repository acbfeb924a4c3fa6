import { HttpStatus } from '@nestjs/common';
import { type ErrorCode, type StatusOf } from './error-codes.js';

export interface FieldError {
  code: string;
  message: string;
}

export type FieldErrors = Record<string, FieldError[]>;

interface DomainErrorOptions {
  cause?: unknown;
  /** For a limit: when to ask again, sent as Retry-After. */
  retryAfterSeconds?: number;
}

// A class expression keeps the runtime name `DomainError` while the exported constructor below
// narrows its parameters: TypeScript has no generic constructors, and a generic class would make
// `instanceof DomainError` give `DomainError<any>`.
const DomainErrorClass = class DomainError extends Error {
  constructor(
    readonly status: HttpStatus,
    readonly code: ErrorCode,
    message: string,
    readonly errors?: FieldErrors,
    options?: DomainErrorOptions,
  ) {
    super(message, options);
    this.name = 'DomainError';
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  /** For a limit: when to ask again, sent as Retry-After. */
  readonly retryAfterSeconds?: number;
};

/**
 * An error the service means to report: a stable machine `code`, an HTTP status and a Russian
 * message for people. `cause` is kept for the log and never sent. The code must be one of
 * `ERROR_CODES` (src/common/error-codes.ts) and the status the one listed there for it.
 */
export type DomainError = InstanceType<typeof DomainErrorClass>;
export const DomainError: new <C extends ErrorCode>(
  status: StatusOf<C>,
  code: C,
  message: string,
  errors?: FieldErrors,
  options?: DomainErrorOptions,
) => DomainError = DomainErrorClass;

/** A page request answered by sending the browser elsewhere (303), thrown where a page cannot go on. */
export abstract class PageRedirect extends Error {
  abstract readonly location: string;
}

/** A second factor the policy requires is missing: the browser goes to enrol one. */
export class SecondFactorEnrolmentRequired extends PageRedirect {
  constructor(readonly location: string) {
    super('second factor enrolment required');
    this.name = 'SecondFactorEnrolmentRequired';
  }
}

/**
 * A page asked for without a session: not an error to show but a way to the login page, which
 * comes back to `returnTo` (a local path) afterwards. The exception filter answers it with 303.
 */
export class LoginRequired extends PageRedirect {
  /** `reauth`: the session stays; the login page asks its owner for the password (and code) again. */
  constructor(
    readonly returnTo: string,
    readonly reauth = false,
  ) {
    super('login required');
    this.name = 'LoginRequired';
  }

  get location(): string {
    const query = new URLSearchParams({ returnTo: this.returnTo });
    if (this.reauth) query.set('reauth', '1');
    return `/login?${query.toString()}`;
  }
}

export class ValidationFailedError extends DomainError<'validation_failed'> {
  constructor(errors: FieldErrors) {
    super(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'validation_failed',
      'Проверьте введённые данные',
      errors,
    );
  }
}

export const Errors = {
  invalidCredentials: () =>
    new DomainError(HttpStatus.UNAUTHORIZED, 'invalid_credentials', 'Неверный логин или пароль'),
  unauthenticated: () =>
    new DomainError(HttpStatus.UNAUTHORIZED, 'unauthenticated', 'Требуется вход в систему'),
  forbidden: () => new DomainError(HttpStatus.FORBIDDEN, 'forbidden', 'Недостаточно прав'),
  notFound: () => new DomainError(HttpStatus.NOT_FOUND, 'not_found', 'Не найдено'),
  reauthenticationRequired: () =>
    new DomainError(
      HttpStatus.FORBIDDEN,
      'reauthentication_required',
      'Для этого действия введите пароль ещё раз (POST /api/v1/auth/reauthenticate или страница входа)',
    ),
  passwordRequired: () =>
    new DomainError(
      HttpStatus.FORBIDDEN,
      'password_required',
      'Чтобы заменить или убрать подтверждённый e-mail, подтвердите действие паролем (POST /api/v1/auth/reauthenticate): вход через Госуслуги, привязанные раньше, чем был подтверждён этот адрес, для этого не подходит',
    ),
  loginTaken: () =>
    new DomainError(HttpStatus.CONFLICT, 'login_taken', 'Этот логин уже занят', {
      login: [{ code: 'taken', message: 'Этот логин уже занят' }],
    }),
  passwordChangedConcurrently: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'password_changed_concurrently',
      'Пароль только что был изменён. Войдите снова.',
    ),
  /** `waitSeconds`: the Retry-After the client is given, said in words so a person can wait it. */
  tooManyRequests: (waitSeconds?: number) =>
    new DomainError(
      HttpStatus.TOO_MANY_REQUESTS,
      'too_many_requests',
      waitSeconds === undefined
        ? 'Слишком много запросов, попробуйте позже'
        : `Слишком много запросов, попробуйте через ${waitInWords(waitSeconds)}`,
    ),
};

export function russianPlural(n: number, one: string, few: string, many: string): string {
  const tens = n % 100;
  const units = n % 10;
  if (units === 1 && tens !== 11) return one;
  if (units >= 2 && units <= 4 && (tens < 12 || tens > 14)) return few;
  return many;
}

/** A wait as a person reads it: seconds under a minute, whole minutes (rounded up) above. */
export function waitInWords(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 60) return `${s} ${russianPlural(s, 'секунду', 'секунды', 'секунд')}`;
  const m = Math.ceil(s / 60);
  return `${m} ${russianPlural(m, 'минуту', 'минуты', 'минут')}`;
}
