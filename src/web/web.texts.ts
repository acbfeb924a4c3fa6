/** Russian texts of the pages, in one place (those every page shares: src/rendering/page.texts.ts). */

import { SESSION_NOTICES } from '../sessions/sessions.texts.js';

/** Notices shown after a redirect: the query names a key, never the text itself. */
export const ACCOUNT_NOTICES = {
  registered: { kind: 'success', text: 'Учётная запись создана. Добро пожаловать!' },
  saved: { kind: 'success', text: 'Изменения сохранены' },
  password_changed: {
    kind: 'success',
    text: 'Пароль изменён. Сеансы на других устройствах завершены.',
  },
  password_set: {
    kind: 'success',
    text: 'Пароль задан: теперь можно входить и по логину с паролем.',
  },
  unlinked: { kind: 'success', text: 'Профиль Госуслуг отвязан от учётной записи' },
  linked: { kind: 'success', text: 'Профиль Госуслуг привязан к учетной записи ЭПОС' },
  email_verified: { kind: 'success', text: 'Адрес электронной почты подтверждён' },
  verification_sent: {
    kind: 'info',
    text: 'Письмо со ссылкой для подтверждения адреса отправлено. Ссылка действует 24 часа.',
  },
  ...SESSION_NOTICES,
} as const;

export const LOGIN_NOTICES = {
  logged_out: { kind: 'success', text: 'Вы вышли из учётной записи' },
  password_reset: {
    kind: 'success',
    text: 'Пароль изменён, все сеансы завершены. Войдите с новым паролем.',
  },
  stale: { kind: 'error', text: 'Страница устарела. Нажмите «Войти через Госуслуги» ещё раз.' },
  gosuslugi_required: {
    kind: 'error',
    text: 'Это приложение принимает только вход через Госуслуги. Нажмите «Войти через Госуслуги».',
  },
  mfa_expired: {
    kind: 'error',
    text: 'Время на ввод кода истекло или код вводили слишком много раз. Войдите снова.',
  },
} as const;

export const APPLICATIONS_NOTICES = {
  revoked: {
    kind: 'success',
    text: 'Доступ отозван: приложение больше не получает ваши данные, при следующем входе оно спросит разрешение снова',
  },
} as const;

export const ADMIN_NOTICES = {
  added: { kind: 'success', text: 'Пользователь добавлен, приглашение отправлено на его адрес' },
  resent: { kind: 'success', text: 'Приглашение отправлено повторно, прежняя ссылка не действует' },
  archived: { kind: 'success', text: 'Учётная запись перенесена в архив, доступ прекращён' },
  restored: { kind: 'success', text: 'Учётная запись возвращена из архива' },
  saved: { kind: 'success', text: 'Данные организации сохранены' },
  check_queued: {
    kind: 'info',
    text: 'Проверка сайта запущена: обновите страницу через несколько секунд',
  },
  roles_saved: { kind: 'success', text: 'Роли пользователя сохранены' },
  invitee_saved: { kind: 'success', text: 'Данные приглашённого исправлены' },
  invitee_relinked: {
    kind: 'success',
    text: 'Данные исправлены, на новый адрес отправлено приглашение; прежняя ссылка не действует',
  },
  resent_all: { kind: 'success', text: 'Приглашения отправлены повторно' },
  sessions_ended: {
    kind: 'success',
    text: 'Все сеансы пользователя завершены: ему придётся войти заново на всех устройствах',
  },
  status_published: { kind: 'success', text: 'Статус подключения опубликован по адресу ниже' },
  status_regenerated: {
    kind: 'success',
    text: 'Адрес страницы статуса заменён: прежний адрес больше не открывается',
  },
  status_revoked: { kind: 'success', text: 'Публикация снята: адрес больше не открывается' },
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
