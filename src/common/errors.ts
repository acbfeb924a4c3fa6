import { HttpStatus } from '@nestjs/common';

export interface FieldError {
  code: string;
  message: string;
}

export type FieldErrors = Record<string, FieldError[]>;

/**
 * An error the service means to report: a stable machine `code`, an HTTP status and a Russian
 * message for people. `cause` is kept for the log and never sent.
 */
export class DomainError extends Error {
  constructor(
    readonly status: HttpStatus,
    readonly code: string,
    message: string,
    readonly errors?: FieldErrors,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DomainError';
  }
}

export class ValidationFailedError extends DomainError {
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
  tooManyRequests: () =>
    new DomainError(
      HttpStatus.TOO_MANY_REQUESTS,
      'too_many_requests',
      'Слишком много запросов, попробуйте позже',
    ),
};
