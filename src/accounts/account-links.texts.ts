import { HttpStatus } from '@nestjs/common';
import { DomainError, russianPlural, waitInWords } from '../common/errors.js';

/** Russian texts and stable codes of e-mail verification and password recovery, in one place. */
export const LinkErrors = {
  invalid: (what: 'verify' | 'recovery') =>
    new DomainError(
      HttpStatus.GONE,
      'link_invalid',
      what === 'verify'
        ? 'Ссылка для подтверждения адреса недействительна. Запросите новое письмо в «Личном кабинете».'
        : 'Ссылка для восстановления пароля недействительна. Запросите восстановление ещё раз.',
    ),
  used: () =>
    new DomainError(
      HttpStatus.GONE,
      'link_used',
      'Эта ссылка уже использована и больше не действует.',
    ),
  expired: (what: 'verify' | 'recovery') =>
    new DomainError(
      HttpStatus.GONE,
      'link_expired',
      what === 'verify'
        ? 'Срок действия ссылки истёк (24 часа). Запросите новое письмо в «Личном кабинете».'
        : 'Срок действия ссылки истёк (1 час). Запросите восстановление пароля ещё раз.',
    ),
  superseded: () =>
    new DomainError(
      HttpStatus.GONE,
      'link_superseded',
      'Эта ссылка заменена более новой или адрес уже изменён. Воспользуйтесь последним письмом.',
    ),
  emailTaken: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'email_taken',
      'Этот адрес уже подтверждён для другой учётной записи. Укажите другой адрес.',
    ),
  /** `waitSeconds`: until the oldest letter of the hour leaves the window. */
  verificationLimit: (limit: number, waitSeconds: number) =>
    new DomainError(
      HttpStatus.TOO_MANY_REQUESTS,
      'verification_limit',
      `Письмо уже отправлялось ${limit} ${russianPlural(limit, 'раз', 'раза', 'раз')} за последний час. Следующее можно запросить через ${waitInWords(waitSeconds)}.`,
      undefined,
      { retryAfterSeconds: waitSeconds },
    ),
  nothingToVerify: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'nothing_to_verify',
      'Нет адреса, ожидающего подтверждения.',
    ),
};

/** The one answer to every recovery request, whatever the account. */
export const RECOVERY_ANSWER =
  'Если учётная запись с таким логином или адресом существует и у неё подтверждён адрес электронной почты, на него отправлено письмо со ссылкой для восстановления пароля. Ссылка действует 1 час. Если вы входите только через Госуслуги, войдите через Госуслуги — пароль для этого не нужен.';
