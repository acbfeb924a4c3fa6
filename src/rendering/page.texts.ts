/** Russian texts every server-rendered page shares: stale forms, notices, error pages. */

export const STALE_FORM = 'Страница устарела. Проверьте данные и отправьте форму ещё раз.';
/** A stale form of a page that has no way to show itself again. */
export const STALE_PAGE = {
  title: 'Страница устарела',
  paragraphs: ['Обновите страницу и отправьте форму ещё раз.'],
  links: [{ href: '/', text: 'На главную' }],
};

export type Notice = { kind: 'success' | 'error' | 'info'; text: string };

/** The notice a query parameter names, if it names one of `notices`. */
export function noticeOf<K extends string>(
  notices: Record<K, Notice>,
  key: unknown,
): Notice | undefined {
  return typeof key === 'string' && Object.hasOwn(notices, key) ? notices[key as K] : undefined;
}

export const PAGE_ERRORS = {
  notFound: {
    status: 404,
    title: 'Страница не найдена',
    paragraphs: ['Проверьте адрес или вернитесь на главную страницу.'],
  },
  forbidden: {
    status: 403,
    title: 'Недостаточно прав',
    paragraphs: ['У вашей учётной записи нет доступа к этой странице.'],
  },
  tooMany: {
    status: 429,
    title: 'Слишком много попыток',
    paragraphs: ['Подождите немного и попробуйте снова.'],
  },
  internal: {
    status: 500,
    title: 'Что-то пошло не так',
    paragraphs: ['Попробуйте ещё раз. Если ошибка повторится, сообщите код запроса в поддержку.'],
  },
} as const;
