/** Russian texts of the OpenID Provider's pages and refusals, in one place. */
export const PROVIDER_TEXTS = {
  errorTitle: 'Вход в приложение не удался',
  returningTitle: 'Возвращаемся в приложение…',
  continue: 'Продолжить',
  interactionExpired:
    'Время на вход истекло или вход начат в другом браузере. Вернитесь в приложение и начните вход снова.',
  consentTitle: 'Доступ приложения к учётной записи',
  /** Sent to the application as `error_description` with `access_denied`. */
  consentRefused: 'Пользователь отказал приложению в доступе к учётной записи',
  otherAccount:
    'Вход в приложение начат под другой учётной записью. Вернитесь в приложение и начните вход снова.',
  logoutTitle: 'Выход',
  logoutQuestion: (client: string | null) =>
    client
      ? `Приложение «${client}» просит завершить вход. Выйти из Identity Link и из всех приложений, в которые вы вошли через него?`
      : 'Выйти из Identity Link и из всех приложений, в которые вы вошли через него?',
  logoutYes: 'Выйти',
  logoutNo: 'Остаться',
  loggedOutTitle: 'Вы вышли',
  loggedOut: 'Вход завершён здесь и в приложениях, в которые вы вошли через Identity Link.',
  returningFromLogout: 'Возвращаемся в приложение…',
};

/** What an application receives with each scope, in the words of the consent page and «Приложения». */
export const SCOPE_WORDS: Record<string, string> = {
  openid: 'что это вы: постоянный идентификатор учётной записи и способ входа',
  profile: 'ФИО и логин',
  email: 'адрес электронной почты (подтверждённый)',
  phone: 'телефон',
  pos: 'организации ПОС и роли',
  offline_access: 'доступ, пока вы его не отзовёте, и когда вы не в приложении',
};

/** The scopes (and claims asked for one by one) as the list a person reads. */
export function describeAccess(
  scopes: readonly string[],
  claims: readonly string[] = [],
): string[] {
  // In the order of SCOPE_WORDS (who you are first), whatever order the grant keeps them in.
  const order = Object.keys(SCOPE_WORDS);
  const rank = (scope: string) => (order.includes(scope) ? order.indexOf(scope) : order.length);
  const words = scopes
    .filter(Boolean)
    .toSorted((a, b) => rank(a) - rank(b))
    .map((scope) => SCOPE_WORDS[scope] ?? scope);
  if (claims.length > 0) words.push(`отдельные сведения: ${claims.join(', ')}`);
  return [...new Set(words)];
}
