/** Russian texts of the pages, in one place (those every page shares: src/rendering/page.texts.ts). */

import { type Notice } from '../rendering/page.texts.js';
import { SESSION_NOTICES } from '../sessions/sessions.texts.js';

/** A notice of its kind, so that a table of them reads as its texts. */
export function success(text: string) {
  return { kind: 'success', text } as const satisfies Notice;
}
export function info(text: string) {
  return { kind: 'info', text } as const satisfies Notice;
}
export function failure(text: string) {
  return { kind: 'error', text } as const satisfies Notice;
}

/** After «Завершить все сеансы» of another person's account (an administrator's or an operator's). */
export const SESSIONS_ENDED = success(
  'Все сеансы пользователя завершены: ему придётся войти заново на всех устройствах',
);

/** Notices shown after a redirect: the query names a key, never the text itself. */
export const ACCOUNT_NOTICES = {
  registered: success('Учётная запись создана. Добро пожаловать!'),
  saved: success('Изменения сохранены'),
  password_changed: success('Пароль изменён. Сеансы на других устройствах завершены.'),
  password_set: success('Пароль задан: теперь можно входить и по логину с паролем.'),
  unlinked: success('Профиль Госуслуг отвязан от учётной записи'),
  linked: success('Профиль Госуслуг привязан к учетной записи ЭПОС'),
  email_verified: success('Адрес электронной почты подтверждён'),
  verification_sent: info(
    'Письмо со ссылкой для подтверждения адреса отправлено. Ссылка действует 24 часа.',
  ),
  ...SESSION_NOTICES,
} as const;

export const LOGIN_NOTICES = {
  logged_out: success('Вы вышли из учётной записи'),
  password_reset: success('Пароль изменён, все сеансы завершены. Войдите с новым паролем.'),
  stale: failure('Страница устарела. Нажмите «Войти через Госуслуги» ещё раз.'),
  gosuslugi_required: failure(
    'Это приложение принимает только вход через Госуслуги. Нажмите «Войти через Госуслуги».',
  ),
  mfa_expired: failure(
    'Время на ввод кода истекло или код вводили слишком много раз. Войдите снова.',
  ),
} as const;

export const APPLICATIONS_NOTICES = {
  revoked: success(
    'Доступ отозван: приложение больше не получает ваши данные, при следующем входе оно спросит разрешение снова',
  ),
} as const;

export const ADMIN_NOTICES = {
  added: success('Пользователь добавлен, приглашение отправлено на его адрес'),
  resent: success('Приглашение отправлено повторно, прежняя ссылка не действует'),
  archived: success('Учётная запись перенесена в архив, доступ прекращён'),
  restored: success('Учётная запись возвращена из архива'),
  saved: success('Данные организации сохранены'),
  check_queued: info('Проверка сайта запущена: обновите страницу через несколько секунд'),
  roles_saved: success('Роли пользователя сохранены'),
  invitee_saved: success('Данные приглашённого исправлены'),
  invitee_relinked: success(
    'Данные исправлены, на новый адрес отправлено приглашение; прежняя ссылка не действует',
  ),
  resent_all: success('Приглашения отправлены повторно'),
  sessions_ended: SESSIONS_ENDED,
  status_published: success('Статус подключения опубликован по адресу ниже'),
  status_regenerated: success(
    'Адрес страницы статуса заменён: прежний адрес больше не открывается',
  ),
  status_revoked: success('Публикация снята: адрес больше не открывается'),
} as const;

export const ORGANIZATION_KINDS: Record<string, string> = {
  authority: 'Орган администрации',
  institution: 'Подведомственное учреждение',
};

export const WIDGET_VARIANT_NAMES: Record<string, string> = {
  standard: 'Стандартный (голубой)',
  dark: 'Тёмный',
  compact: 'Компактный (230 px)',
};

/** The scripts of a page with a passkey button: the library's bundle, then the page's part. */
export const PASSKEY_SCRIPTS = ['vendor/simplewebauthn/index.umd.min.js', 'passkey.js'];
