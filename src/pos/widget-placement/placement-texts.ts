import { type WidgetCheckState } from '../organization.entity.js';
import { type UnavailableReason } from './site-fetch.js';

/** What the report, the CSV and the widget tab show of the last check. */
export interface WidgetPlacement {
  state: WidgetCheckState | 'not_checked';
  checkedAt: string | null;
  /** `site_unavailable` only: why (site-fetch.ts, UNAVAILABLE_REASONS). */
  reason: string | null;
  /** «найден на сайте · 02.12.2026», «не найден», «сайт недоступен», «не проверен». */
  text: string;
}

/** The Russian words of the placement check: the report, the CSV and the widget tab. */
const DATE = new Intl.DateTimeFormat('ru-RU', {
  timeZone: 'Europe/Moscow',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
});

export const UNAVAILABLE_REASON_TEXTS: Record<UnavailableReason, string> = {
  invalid_url: 'адрес сайта записан с ошибкой',
  not_https: 'адрес сайта (или перенаправление) не https://',
  port_not_allowed: 'в адресе сайта указан порт: проверяется только https:// без порта (443)',
  private_address: 'адрес сайта ведёт во внутреннюю сеть',
  dns_failed: 'имя сайта не найдено в DNS',
  timeout: 'сайт не ответил за 5 секунд',
  tls_failed: 'сертификат https сайта не прошёл проверку',
  connection_failed: 'не удалось подключиться к сайту',
  http_status: 'сайт ответил ошибкой',
  not_html: 'по адресу не веб-страница (нужен text/html)',
  too_large: 'страница больше 1 МиБ',
  too_many_redirects: 'больше 3 перенаправлений',
};

export function reasonText(reason: string | null): string | null {
  if (!reason) return null;
  return UNAVAILABLE_REASON_TEXTS[reason as UnavailableReason] ?? 'сайт недоступен';
}

/** «найден на сайте · 02.12.2026», «не найден», «сайт недоступен», «не проверен». */
export function placementText(placement: Omit<WidgetPlacement, 'text'>): string {
  switch (placement.state) {
    case 'found':
      return placement.checkedAt
        ? `найден на сайте · ${DATE.format(new Date(placement.checkedAt))}`
        : 'найден на сайте';
    case 'not_found':
      return 'не найден';
    case 'site_unavailable':
      return 'сайт недоступен';
    case 'not_checked':
      return 'не проверен';
  }
}

/** The date of the last check for the page, or null. */
export function checkedOn(placement: Omit<WidgetPlacement, 'text'>): string | null {
  return placement.checkedAt ? DATE.format(new Date(placement.checkedAt)) : null;
}

export function placementOf(organization: {
  widgetCheckState: WidgetCheckState | null;
  widgetCheckedAt: Date | null;
  widgetCheckReason: string | null;
}): WidgetPlacement {
  const placement = {
    state: organization.widgetCheckState ?? ('not_checked' as const),
    checkedAt: organization.widgetCheckedAt?.toISOString() ?? null,
    reason:
      organization.widgetCheckState === 'site_unavailable' ? organization.widgetCheckReason : null,
  };
  return { ...placement, text: placementText(placement) };
}
