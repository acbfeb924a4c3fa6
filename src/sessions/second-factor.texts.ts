import { HttpStatus } from '@nestjs/common';
import { DomainError } from '../common/errors.js';

/** Russian texts and stable codes of the second factor, in one place. */
export const SecondFactorErrors = {
  /** The pending step is unknown, used up or older than CHALLENGE_TTL_MS: the password again. */
  challengeInvalid: () =>
    new DomainError(
      HttpStatus.UNAUTHORIZED,
      'mfa_challenge_invalid',
      'Время на ввод кода истекло или код вводили слишком много раз: войдите снова с логином и паролем',
    ),
  invalidCode: () =>
    new DomainError(
      HttpStatus.UNAUTHORIZED,
      'invalid_mfa_code',
      'Неверный или уже использованный код',
    ),
  codeRequired: () =>
    new DomainError(
      HttpStatus.UNAUTHORIZED,
      'mfa_code_required',
      'Для учётной записи включена двухфакторная аутентификация: введите и пароль, и код из приложения',
    ),
  passkeyRequired: () =>
    new DomainError(
      HttpStatus.UNAUTHORIZED,
      'mfa_passkey_required',
      'Для учётной записи включена двухфакторная аутентификация: введите пароль и подтвердите ключом доступа',
    ),
  alreadyEnrolled: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'mfa_already_enrolled',
      'Двухфакторная аутентификация уже включена',
    ),
  notEnrolled: () =>
    new DomainError(
      HttpStatus.NOT_FOUND,
      'mfa_not_enrolled',
      'Двухфакторная аутентификация не включена',
    ),
  enrolmentNotStarted: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'mfa_enrolment_not_started',
      'Сначала получите секрет для приложения (начните подключение заново)',
    ),
  /** Production without PERSONAL_DATA_KEY: a secret cannot be kept sealed, so none is made. */
  keyMissing: () =>
    new DomainError(
      HttpStatus.SERVICE_UNAVAILABLE,
      'mfa_unavailable',
      'Подключение второго фактора недоступно: сервис не настроен (PERSONAL_DATA_KEY)',
    ),
  /** A session whose account must now have a factor and has none (AdminSecondFactorGuard). */
  enrolmentRequired: () =>
    new DomainError(
      HttpStatus.FORBIDDEN,
      'mfa_enrolment_required',
      'Для этой учётной записи обязательна двухфакторная аутентификация: подключите приложение-аутентификатор (POST /api/v1/me/mfa/totp или «Личный кабинет» → «Двухфакторная аутентификация»)',
    ),
  wrongPurpose: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'mfa_enrolment_not_required',
      'Для этого входа нужен код уже подключённого приложения',
    ),
};

/** Russian texts and stable codes of passkeys (WebAuthn), in one place. */
export const PasskeyErrors = {
  /** Any refused assertion: unknown, replayed or foreign challenge, foreign key, bad signature. */
  invalid: () =>
    new DomainError(
      HttpStatus.UNAUTHORIZED,
      'invalid_passkey',
      'Ключ доступа не подтвердил вход. Попробуйте ещё раз или введите код из приложения',
    ),
  registrationFailed: () =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'passkey_registration_failed',
      'Не удалось добавить ключ доступа: попробуйте ещё раз',
    ),
  alreadyRegistered: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'passkey_already_registered',
      'Этот ключ доступа уже добавлен',
    ),
  notFound: () =>
    new DomainError(HttpStatus.NOT_FOUND, 'passkey_not_found', 'Ключ доступа не найден'),
  none: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'passkey_not_enrolled',
      'У учётной записи нет ключей доступа',
    ),
  nameInvalid: () =>
    new DomainError(
      HttpStatus.UNPROCESSABLE_ENTITY,
      'passkey_name_invalid',
      'Назовите ключ: от 1 до 64 символов',
    ),
};

export const SECOND_FACTOR_TEXTS = {
  required: 'Введите код из приложения-аутентификатора или один из резервных кодов',
  enrolmentRequired:
    'Для этой учётной записи обязательна двухфакторная аутентификация: подключите приложение-аутентификатор',
};
