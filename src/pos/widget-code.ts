/**
 * The widget code in ПОС's format (the «Функционирование ЛКО» generator of pos.gosuslugi.ru, the
 * instructions in /work/shared/reference: a design and a banner text are chosen, the code is
 * copied to the official site, and the ЛКО number is at its end):
 *
 * 1. ПОС's script, `<script src='<ПОС>/bin/script.min.js'></script>`;
 * 2. the banner block: the chosen design's style, then `<div id='js-show-iframe-wrapper'>` with
 *    `<div class='pos-banner-fluid bf-N'>`, the chosen text and the `pos-banner-btn_2` button
 *    that ПОС's script binds (its class must stay);
 * 3. the final call with the form address and the ЛКО number,
 *    `<script>Widget("<ПОС>/form", <ЛКО>)</script>`.
 */

export const WIDGET_VARIANTS = ['standard', 'dark', 'compact'] as const;
export type WidgetVariant = (typeof WIDGET_VARIANTS)[number];
export const DEFAULT_BANNER = 'Есть вопрос? Напишите нам';
/** Banner texts offered on the page; the administrator may write their own. */
export const BANNER_SUGGESTIONS = [
  DEFAULT_BANNER,
  'Есть предложения, как сделать работу учреждения лучше? Напишите — решим!',
  'Знаете о проблеме? Сообщите о ней через Госуслуги',
  'Задайте вопрос или направьте обращение через Госуслуги',
];
export const WIDGET_BUTTON = 'Написать о проблеме';

/** ПОС's banner design of each variant, and that design's style in the code. */
const DESIGNS: Record<WidgetVariant, { banner: string; style: string }> = {
  standard: {
    banner: 'bf-1',
    style:
      '#js-show-iframe-wrapper{display:flex;justify-content:center;width:100%;min-width:293px;background:linear-gradient(138deg,#38bafe,#2d73bc);color:#fff}',
  },
  dark: {
    banner: 'bf-2',
    style:
      '#js-show-iframe-wrapper{display:flex;justify-content:center;width:100%;min-width:293px;background:#0b1f33;color:#fff}',
  },
  compact: {
    banner: 'bf-3',
    style:
      '#js-show-iframe-wrapper{display:inline-flex;width:230px;background:#fff;color:#0b40b3;border:1px solid #0d4cd3;border-radius:4px}',
  },
};

const BUTTON_STYLE =
  '#js-show-iframe-wrapper .pos-banner-btn_2{min-height:48px;padding:0 24px;background:#0d4cd3;color:#fff;border:none;border-radius:8px;cursor:pointer}';

export function bannerClass(variant: WidgetVariant): string {
  return DESIGNS[variant].banner;
}

/** Text content safe in HTML (the code lands on other people's sites). */
function text(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** ПОС's origin, no trailing slash (POS_WIDGET_BASE_URL is validated as an origin). */
function origin(base: string): string {
  return base.replace(/\/+$/, '');
}

export function widgetCode(
  posBaseUrl: string,
  lkoNumber: string,
  variant: WidgetVariant,
  bannerText: string,
): string {
  if (!/^\d+$/.test(lkoNumber)) throw new Error('a ЛКО number is digits');
  const base = origin(posBaseUrl);
  const bf = DESIGNS[variant].banner;
  return [
    `<script src='${base}/bin/script.min.js'></script>`,
    `<style>${DESIGNS[variant].style}${BUTTON_STYLE}</style>`,
    `<div id='js-show-iframe-wrapper'>`,
    `  <div class='pos-banner-fluid ${bf}'>`,
    `    <div class='${bf}__content'>`,
    `      <div class='${bf}__description'>`,
    `        <span class='${bf}__text'>${text(bannerText)}</span>`,
    `      </div>`,
    `      <div class='${bf}__btn-wrap'>`,
    `        <!-- pos-banner-btn_2 не удалять; другие классы не добавлять -->`,
    `        <button class='pos-banner-btn_2' type='button'>${WIDGET_BUTTON}</button>`,
    `      </div>`,
    `    </div>`,
    `  </div>`,
    `</div>`,
    `<script>Widget("${base}/form", ${lkoNumber})</script>`,
  ].join('\n');
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Whether a page carries the widget of this ЛКО: ПОС's script and the final call with this
 * number (either quote, any spacing: sites reformat pasted code). The number must end there:
 * ЛКО 12 is not found in `Widget(".../form", 123)`.
 */
export function hasWidget(html: string, posBaseUrl: string, lkoNumber: string): boolean {
  const base = escapeRegExp(origin(posBaseUrl));
  const call = new RegExp(
    `\\bWidget\\(\\s*["']${base}/form["']\\s*,\\s*["']?${escapeRegExp(lkoNumber)}["']?\\s*\\)`,
  );
  return hasPosScript(html, origin(posBaseUrl)) && call.test(html);
}

/**
 * `<script … src="<base>/bin/script.min.js">`, found in linear time: the fetched page is up to
 * 1 MiB from a site anyone may control, and a pattern such as `<script[^>]+src…` backtracks
 * quadratically over a page of unclosed `<script` tags, blocking the event loop for minutes.
 * Each occurrence of the script's address is checked backwards: `src=` and a quote right before
 * it, inside a `<script` tag that is not closed in between.
 */
function hasPosScript(html: string, base: string): boolean {
  const text = html.toLowerCase();
  const address = `${base.toLowerCase()}/bin/script.min.js`;
  for (let at = text.indexOf(address); at !== -1; at = text.indexOf(address, at + 1)) {
    const quote = text[at - 1];
    const after = text[at + address.length];
    if ((quote !== '"' && quote !== "'") || after !== quote) continue;
    if (!/\bsrc\s*=\s*$/.test(text.slice(Math.max(0, at - 65), at - 1))) continue;
    // The opening tag starts within 4 KiB before the address (a bounded look-back keeps it linear).
    const window = text.slice(Math.max(0, at - 4096), at);
    const tag = window.lastIndexOf('<script');
    if (tag !== -1 && !window.slice(tag).includes('>')) return true;
  }
  return false;
}
