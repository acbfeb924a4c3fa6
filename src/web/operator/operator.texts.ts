/** Russian texts of the platform operator's pages (/pos/operator), in one place. */

import { SESSIONS_ENDED, success } from '../web.texts.js';

export const OPERATOR_TABS = ['organizations', 'operators', 'users', 'clients'] as const;
export type OperatorTab = (typeof OPERATOR_TABS)[number];

export const OPERATOR_TAB_NAMES: Record<OperatorTab, string> = {
  organizations: 'Организации',
  operators: 'Операторы',
  users: 'Пользователи',
  clients: 'Приложения',
};

/** Notices shown after a redirect: the query names a key, never the text itself. */
export const OPERATOR_NOTICES = {
  created: success('Организация создана'),
  child_created: success('Подведомственное учреждение создано'),
  renamed: success('Наименование изменено'),
  moved: success('Организация перенесена вместе с подведомственными'),
  invited: success('Администратор ЛКО приглашён: письмо со ссылкой отправлено на его адрес'),
  operator_added: success('Учётная запись стала оператором платформы; её прежние сеансы завершены'),
  operator_removed: success('Полномочия оператора платформы сняты'),
  blocked: success('Учётная запись заблокирована, все её сеансы завершены'),
  unblocked: success('Учётная запись снова может входить'),
  archived: success('Учётная запись перенесена в архив, все её сеансы завершены'),
  sessions_ended: SESSIONS_ENDED,
  mfa_reset: success(
    'Второй фактор сброшен, все сеансы пользователя завершены; ему отправлено письмо. При следующем входе по паролю он подключит приложение заново',
  ),
  client_disabled: success('Приложение отключено: через него больше нельзя войти'),
} as const;

export const USER_STATUS_NAMES: Record<string, string> = {
  active: 'Активна',
  blocked: 'Заблокирована',
  archived: 'В архиве',
};

/** «Приложения»: the kinds of client and the logins a client may require. */
export const CLIENT_TYPE_NAMES = {
  confidential: 'Конфиденциальное (с секретом)',
  public: 'Публичное (без секрета, PKCE)',
} as const;

export const CLIENT_ACR_NAMES: Record<string, string> = {
  gosuslugi: 'Только вход через Госуслуги',
};

/** The page that shows a client's id and secret once. */
export const CLIENT_CREDENTIALS_TEXTS = {
  created: {
    title: 'Приложение зарегистрировано',
    notice: 'Приложение зарегистрировано. Впишите эти данные в его настройки.',
  },
  rotated: {
    title: 'Новый секрет выпущен',
    notice:
      'Новый секрет выпущен. Прежний уже не действует: приложение не сможет войти, пока в его настройках не заменят секрет.',
  },
} as const;
