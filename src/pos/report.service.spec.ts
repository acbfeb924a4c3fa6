import { describe, expect, it } from '@jest/globals';
import {
  filterStatus,
  parseStatusQuery,
  STATUS_HEADERS,
  statusCsv,
  statusTable,
  widgetState,
} from './report-table.js';
import { csvCell, type StatusRow } from './report.service.js';
import { placementOf } from './widget-placement/placement-texts.js';

const row = (name: string): StatusRow => ({
  id: 'x',
  parentId: null,
  name,
  kind: 'institution',
  lkoNumber: '100001',
  depth: 0,
  accounts: { invited: 1, registered: 0, confirmed: 2, archived: 0 },
  adminConfirmed: true,
  lkoReady: false,
  widgetGenerated: false,
  widgetPlacement: placementOf({
    widgetCheckState: null,
    widgetCheckedAt: null,
    widgetCheckReason: null,
  }),
  subtree: {
    invited: 1,
    registered: 0,
    confirmed: 2,
    archived: 0,
    organizations: 1,
    adminConfirmed: 1,
    lkoReady: 0,
    widgetGenerated: 0,
    widgetFound: 0,
  },
});

describe('connection status CSV', () => {
  it('is ;-separated UTF-8 with a BOM and Russian headers', () => {
    const csv = statusCsv([row('Школа № 5')]);
    expect(csv.startsWith('\uFEFFНомер ЛКО;Организация;')).toBe(true);
    expect(csv.split('\r\n')[1]).toBe(
      '100001;Школа № 5;Учреждение;0;1;0;2;0;да;нет;не проверен;1;2;0',
    );
  });

  it('says where the widget stands: found with the date of the check, not found, unavailable, not checked', () => {
    const placed = (state: 'found' | 'not_found' | 'site_unavailable' | null, at?: string) =>
      statusCsv([
        {
          ...row('Школа'),
          widgetPlacement: placementOf({
            widgetCheckState: state,
            widgetCheckedAt: at ? new Date(at) : null,
            widgetCheckReason: state === 'site_unavailable' ? 'timeout' : null,
          }),
        },
      ])
        .split('\r\n')[1]
        .split(';')[10];
    // The date of the check is Moscow's: 21:30 UTC is already the next day there.
    expect(placed('found', '2026-12-02T21:30:00.000Z')).toBe('найден на сайте · 03.12.2026');
    expect(placed('not_found', '2026-12-02T10:00:00.000Z')).toBe('не найден');
    expect(placed('site_unavailable', '2026-12-02T10:00:00.000Z')).toBe('сайт недоступен');
    expect(placed(null)).toBe('не проверен');
  });

  it('neutralises formulas and quotes separators, so a spreadsheet shows names as text', () => {
    const csv = statusCsv([
      row('=HYPERLINK("http://evil.example")'),
      row('Школа; филиал'),
      row('@SUM(1)'),
    ]);
    const lines = csv.split('\r\n');
    expect(lines[1]).toContain(`;"'=HYPERLINK(""http://evil.example"")";`);
    expect(lines[2]).toContain(';"Школа; филиал";');
    expect(lines[3]).toContain(`;"'@SUM(1)";`);
  });

  it('quotes a comma too, for a spreadsheet that splits on commas', () => {
    const lines = statusCsv([row('Школа, филиал'), row('-1+2')]).split('\r\n');
    expect(lines[1]).toContain(';"Школа, филиал";');
    expect(lines[2]).toContain(`;"'-1+2";`);
  });

  it.each([
    ['=', '=1+1', `"'=1+1"`],
    ['+', '+1', `"'+1"`],
    ['-', '-1', `"'-1"`],
    ['@', '@A1', `"'@A1"`],
    ['TAB', '\t=1', `"'\t=1"`],
    ['CR', '\r=1', `"'\r=1"`],
  ])('neutralises a cell that starts with %s', (_, value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });

  it('neutralises a formula right after a separator inside a cell, where a spreadsheet that splits there starts one', () => {
    expect(csvCell('Школа,=2+3')).toBe(`"Школа,'=2+3"`);
    expect(csvCell('Школа;@SUM(1)')).toBe(`"Школа;'@SUM(1)"`);
    expect(csvCell('Школа № 5 - филиал')).toBe('Школа № 5 - филиал');
  });
});

describe('connection status table', () => {
  const authority = (name: string): StatusRow => ({ ...row(name), kind: 'authority' });

  it('counts a widget only when the check found it on the site, in the page, the CSV and the filter alike', () => {
    const generated = { ...row('Школа № 6'), id: 'g', widgetGenerated: true };
    expect(widgetState(generated)).toEqual({ ok: false, text: 'не проверен' });
    const found = {
      ...row('Школа № 7'),
      id: 'w',
      widgetGenerated: true,
      widgetPlacement: placementOf({
        widgetCheckState: 'found',
        widgetCheckedAt: new Date('2026-12-02T10:00:00.000Z'),
        widgetCheckReason: null,
      }),
    };
    expect(widgetState(found)).toEqual({ ok: true, text: 'найден на сайте · 02.12.2026' });
    expect(
      filterStatus([row('Школа № 5'), generated, found], { filter: 'no_widget' }).map((r) => r.id),
    ).toEqual(['x', 'g']);
  });

  it('ends with a totals row of the same width as the header', () => {
    const table = statusTable([authority('Управление'), row('Школа № 5')]);
    expect(table[0]).toEqual(STATUS_HEADERS);
    expect(table.at(-1)).toHaveLength(STATUS_HEADERS.length);
    expect(table.at(-1)!.slice(1, 8)).toEqual(['Итого', 'организаций: 2', '', 2, 0, 4, 0]);
  });

  it('keeps an authority and what lies below it, in tree order', () => {
    const top = { ...authority('Город'), id: 'top' };
    const body = { ...authority('Управление'), id: 'body', parentId: 'top' };
    const school = { ...row('Школа'), id: 'school', parentId: 'body' };
    const elsewhere = { ...row('Музей'), id: 'museum', parentId: 'top' };
    const rows = [top, body, school, elsewhere];
    expect(filterStatus(rows, { authority: 'body' }).map((r) => r.id)).toEqual(['body', 'school']);
    expect(filterStatus(rows, { authority: 'nowhere' })).toEqual([]);
    expect(parseStatusQuery('no_admin', '')).toEqual({ filter: 'no_admin' });
    expect(parseStatusQuery('drop table', ['x'])).toEqual({});
  });
});
