/** ЕСИА error codes people and operators meet, in Russian; anything else gets the generic text. */
const MESSAGES: Record<string, string> = {
  'ESIA-007005':
    'Система не зарегистрирована в ЕСИА или ей не разрешён запрошенный доступ (ESIA-007005).',
  'ESIA-007006': 'Запрошенные данные не согласованы для системы в ЕСИА (ESIA-007006).',
  'ESIA-007014': 'В запросе к ЕСИА нет хэша сертификата системы (ESIA-007014).',
  'ESIA-007015': 'ЕСИА отклонила время запроса: проверьте часы сервера (ESIA-007015).',
  'ESIA-007023': 'Адрес возврата не зарегистрирован для системы в ЕСИА (ESIA-007023).',
  'ESIA-007053':
    'ЕСИА не приняла подпись запроса: проверьте ключ и сертификат системы (ESIA-007053).',
};

export function esiaErrorCode(description: string | null | undefined): string | null {
  const match = /ESIA-\d{6}/.exec(description ?? '');
  return match ? match[0] : null;
}

export function esiaErrorMessage(code: string | null): string {
  return (
    (code && MESSAGES[code]) ??
    `ЕСИА вернула ошибку${code ? ` ${code}` : ''}. Попробуйте позже или обратитесь в поддержку.`
  );
}
