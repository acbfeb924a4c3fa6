import { csvCell } from '../common/csv.js';
import { type StatusCounts, type StatusRow } from './report.service.js';

/**
 * The connection status as a table: filters, the totals row, roll-ups per authority and the
 * columns that the page, the CSV and the XLSX share — one list of columns, so the two downloads
 * cannot drift apart.
 */

/** «нет администратора», «ЛКО не готов», «нет виджета». */
export const STATUS_FILTERS = ['no_admin', 'lko_not_ready', 'no_widget'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export const STATUS_FILTER_NAMES: Record<StatusFilter, string> = {
  no_admin: 'Нет администратора',
  lko_not_ready: 'ЛКО не готов',
  no_widget: 'Нет виджета',
};

export interface StatusQuery {
  filter?: StatusFilter;
  /** Only this authority and what lies below it. */
  authority?: string;
}

/** The member states a row drills down into. */
export const MEMBER_STATES = ['invited', 'registered', 'confirmed', 'archived'] as const;
export type MemberState = (typeof MEMBER_STATES)[number];

export interface WidgetState {
  /** Counts as «есть виджет» for the filter, the totals and the roll-ups. */
  ok: boolean;
  /** The cell's text on the page, in the downloads and on the public page. */
  text: string;
}

/**
 * The «Виджет размещён» column, decided here only: placed means found on the official site by the
 * placement check (widget-placement/), not merely generated.
 */
export function widgetState(row: Pick<StatusRow, 'widgetPlacement'>): WidgetState {
  return { ok: row.widgetPlacement.state === 'found', text: row.widgetPlacement.text };
}

export function parseStatusQuery(filter: unknown, authority: unknown): StatusQuery {
  return {
    ...(STATUS_FILTERS.includes(filter as StatusFilter) && { filter: filter as StatusFilter }),
    ...(typeof authority === 'string' && authority !== '' && { authority }),
  };
}

const PROBLEMS: Record<StatusFilter, (row: StatusRow) => boolean> = {
  no_admin: (row) => !row.adminConfirmed,
  lko_not_ready: (row) => !row.lkoReady,
  no_widget: (row) => !widgetState(row).ok,
};

/** The rows a query keeps, in tree order. An authority outside the rows keeps none. */
export function filterStatus(rows: StatusRow[], query: StatusQuery): StatusRow[] {
  let kept = rows;
  if (query.authority) {
    const inside = new Set<string>();
    // Rows come in path order: a parent is seen before its children.
    kept = kept.filter((row) => {
      const below =
        row.id === query.authority || (row.parentId !== null && inside.has(row.parentId));
      if (below) inside.add(row.id);
      return below;
    });
  }
  const problem = query.filter && PROBLEMS[query.filter];
  return problem ? kept.filter(problem) : kept;
}

export interface StatusTotals extends StatusCounts {
  organizations: number;
  adminConfirmed: number;
  lkoReady: number;
  widget: number;
}

/** The totals row: the shown rows' own counts added up (each organisation once). */
export function statusTotals(rows: StatusRow[]): StatusTotals {
  const totals: StatusTotals = {
    organizations: 0,
    invited: 0,
    registered: 0,
    confirmed: 0,
    archived: 0,
    adminConfirmed: 0,
    lkoReady: 0,
    widget: 0,
  };
  for (const row of rows) {
    totals.organizations += 1;
    totals.invited += row.accounts.invited;
    totals.registered += row.accounts.registered;
    totals.confirmed += row.accounts.confirmed;
    totals.archived += row.accounts.archived;
    totals.adminConfirmed += Number(row.adminConfirmed);
    totals.lkoReady += Number(row.lkoReady);
    totals.widget += Number(widgetState(row).ok);
  }
  return totals;
}

/** Every authority with its subtree's counts. */
export function authorityRollups(rows: StatusRow[]): StatusRow[] {
  return rows.filter((row) => row.kind === 'authority');
}

type Cell = string | number;
const yes = (value: boolean) => (value ? 'да' : 'нет');

const COLUMNS: {
  header: string;
  row: (row: StatusRow) => Cell;
  total: (t: StatusTotals) => Cell;
}[] = [
  { header: 'Номер ЛКО', row: (r) => r.lkoNumber, total: () => '' },
  { header: 'Организация', row: (r) => r.name, total: () => 'Итого' },
  {
    header: 'Тип',
    row: (r) => (r.kind === 'authority' ? 'Орган администрации' : 'Учреждение'),
    total: (t) => `организаций: ${t.organizations}`,
  },
  { header: 'Уровень', row: (r) => r.depth, total: () => '' },
  { header: 'Приглашены', row: (r) => r.accounts.invited, total: (t) => t.invited },
  { header: 'Зарегистрированы', row: (r) => r.accounts.registered, total: (t) => t.registered },
  { header: 'Подтверждены', row: (r) => r.accounts.confirmed, total: (t) => t.confirmed },
  { header: 'В архиве', row: (r) => r.accounts.archived, total: (t) => t.archived },
  {
    header: 'Администратор подтверждён',
    row: (r) => yes(r.adminConfirmed),
    total: (t) => t.adminConfirmed,
  },
  { header: 'ЛКО готов к работе', row: (r) => yes(r.lkoReady), total: (t) => t.lkoReady },
  { header: 'Виджет размещён', row: (r) => widgetState(r).text, total: (t) => t.widget },
  { header: 'Организаций в поддереве', row: (r) => r.subtree.organizations, total: () => '' },
  { header: 'Подтверждены в поддереве', row: (r) => r.subtree.confirmed, total: () => '' },
  { header: 'ЛКО готовы в поддереве', row: (r) => r.subtree.lkoReady, total: () => '' },
];

export const STATUS_HEADERS = COLUMNS.map((column) => column.header);

/** Header, one line per organisation, and the totals row: what both downloads contain. */
export function statusTable(rows: StatusRow[]): Cell[][] {
  const totals = statusTotals(rows);
  return [
    STATUS_HEADERS,
    ...rows.map((row) => COLUMNS.map((column) => column.row(row))),
    COLUMNS.map((column) => column.total(totals)),
  ];
}

/** CSV for spreadsheet users in Russia: `;` separated, UTF-8 with a byte-order mark. */
export function statusCsv(rows: StatusRow[]): string {
  const lines = statusTable(rows).map((cells) => cells.map(csvCell).join(';'));
  return '\uFEFF' + lines.join('\r\n') + '\r\n';
}

/**
 * The same table as an Excel workbook. Cells are written as values (strings and numbers), never
 * as formulas, so a name starting with «=» stays text.
 */
export async function statusXlsx(rows: StatusRow[]): Promise<Buffer> {
  // Loaded on the first export: the library holds some 12 MiB that most instances never use.
  const { default: ExcelJS } = await import('exceljs');
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Статус подключения');
  const table = statusTable(rows);
  for (const cells of table) sheet.addRow(cells);
  sheet.getRow(1).font = { bold: true };
  sheet.getRow(table.length).font = { bold: true };
  sheet.views = [{ state: 'frozen', ySplit: 1 }];
  sheet.getColumn(2).width = 60;
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
