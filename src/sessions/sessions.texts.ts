import { HttpStatus } from '@nestjs/common';
import { DomainError } from '../common/errors.js';
import { AuthMethod } from './session.entity.js';

/** Russian texts and stable error codes of session management, in one place. */
export const SessionErrors = {
  /** Also the answer for another person's session id: whose it is must not leak. */
  sessionNotFound: () =>
    new DomainError(HttpStatus.NOT_FOUND, 'session_not_found', 'Сеанс не найден или уже завершён'),
  browserSessionRequired: () =>
    new DomainError(
      HttpStatus.FORBIDDEN,
      'browser_session_required',
      'Это действие доступно только из браузера (по cookie сеанса): access token для него не подходит',
    ),
  userNotFound: (login: string) =>
    new DomainError(HttpStatus.NOT_FOUND, 'user_not_found', `Учётная запись «${login}» не найдена`),
  userNotFoundById: () =>
    new DomainError(HttpStatus.NOT_FOUND, 'user_not_found', 'Учётная запись не найдена'),
  operatorRequired: () =>
    new DomainError(
      HttpStatus.FORBIDDEN,
      'operator_required',
      'Действие доступно только оператору платформы',
    ),
  ownAccount: () =>
    new DomainError(
      HttpStatus.CONFLICT,
      'own_account',
      'С собственной учётной записью это делает другой оператор; свои сеансы завершите в «Личном кабинете»',
    ),
  outOfReach: () =>
    new DomainError(
      HttpStatus.FORBIDDEN,
      'sessions_out_of_reach',
      'Пользователь работает и в организациях, которые вам не подчинены (или он оператор платформы): завершить его сеансы может администратор, которому доступны все его организации, или оператор платформы',
    ),
};

/** How the person logged in, as the «Активные сеансы» list shows it. */
export const METHOD_NAMES: Record<AuthMethod, string> = {
  [AuthMethod.Password]: 'Логин и пароль',
  [AuthMethod.Gosuslugi]: 'Госуслуги',
};

/** Notices of the «Активные сеансы» forms on /account (keys of ACCOUNT_NOTICES). */
export const SESSION_NOTICES = {
  session_ended: { kind: 'success', text: 'Сеанс завершён' },
  other_sessions_ended: { kind: 'success', text: 'Все остальные сеансы завершены' },
} as const;

export const UNKNOWN_DEVICE = 'Неизвестное устройство';
