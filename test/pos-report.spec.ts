import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/app.js';
import { json, operatorBrowser, organization } from './support/pos.js';
import { generateTree } from './support/tree.js';
import ExcelJS from 'exceljs';
import { Membership, MembershipStatus } from '../src/pos/membership.entity.js';
import { OrganizationKind } from '../src/pos/organization.entity.js';
import { STATUS_HEADERS } from '../src/pos/report-table.js';
import { type StatusRow } from '../src/pos/report.service.js';
import { type Browser } from './support/browser.js';
import { Organization } from '../src/pos/organization.entity.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

let t: TestApp;
let root: Organization;
const SHAPE = { authorities: 100, institutions: 99, perOrganization: 10 };

beforeAll(async () => {
  t = await startTestApp({ THROTTLE_LIMIT: '100000' }, { listen: true });
  root = await organization(t.em(), 'Регион', null);
  const client = new pg.Client({ connectionString: t.database.url });
  await client.connect();
  await generateTree(client, root, SHAPE);
  await client.end();
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

describe('ПОС: connection status of a large tree', () => {
  it('answers for 10,001 organisations and 100,010 accounts with correct roll-ups (time: npm run bench)', async () => {
    const { browser } = await operatorBrowser(t);
    const rows = await json<StatusRow[]>(
      await browser.get(`/api/v1/pos/organizations/${root.id}/connection-status`),
    );
    const organizations = 1 + SHAPE.authorities * (1 + SHAPE.institutions);
    expect(rows).toHaveLength(organizations);

    const [top] = rows;
    expect(top.id).toBe(root.id);
    // n = 1..10 → n % 4 = 1,2,3,0,1,2,3,0,1,2: registered ×3, confirmed ×3, archived ×2, invited ×2 per organisation.
    expect(top.subtree).toEqual({
      organizations,
      invited: organizations * 2,
      registered: organizations * 3,
      confirmed: organizations * 3,
      archived: organizations * 2,
      adminConfirmed: 0,
      lkoReady: 0,
      widgetGenerated: 0,
      widgetFound: 0,
    });

    const body = rows.find((row) => row.depth === 1)!;
    expect(body.subtree.organizations).toBe(1 + SHAPE.institutions);
    expect(body.subtree.confirmed).toBe((1 + SHAPE.institutions) * 3);
    const leaf = rows.find((row) => row.depth === 2)!;
    expect(leaf.subtree).toMatchObject({
      organizations: 1,
      invited: 2,
      registered: 3,
      confirmed: 3,
      archived: 2,
    });
    expect(leaf.accounts).toEqual({ invited: 2, registered: 3, confirmed: 3, archived: 2 });

    // Every row's roll-up is its own counts plus its children's roll-ups.
    const children = new Map<string, StatusRow[]>();
    for (const row of rows)
      if (row.parentId) children.set(row.parentId, [...(children.get(row.parentId) ?? []), row]);
    for (const row of rows) {
      const below = children.get(row.id) ?? [];
      expect(row.subtree.confirmed).toBe(
        row.accounts.confirmed + below.reduce((sum, child) => sum + child.subtree.confirmed, 0),
      );
    }
  }, 120_000);
});

describe('ПОС: the status report (filters, totals, roll-ups, drill-down, downloads)', () => {
  // Город → Управление образования → {Школа № 1 (ready, admin, widget), Школа № 2 (two invited)};
  // Город → Школа искусств (nothing yet).
  let city: Organization;
  let education: Organization;
  let ready: Organization;
  let pending: Organization;
  let arts: Organization;
  let operator: Browser;

  beforeAll(async () => {
    const em = t.em();
    city = await organization(em, 'Город (отчёт)', null);
    education = await organization(em, 'Управление образования (отчёт)', city);
    education.kind = OrganizationKind.Authority;
    ready = await organization(em, 'Школа № 1 (отчёт)', education);
    pending = await organization(em, 'Школа № 2 (отчёт)', education);
    arts = await organization(em, 'Школа искусств (отчёт)', city);
    ready.readyConfirmedAt = new Date();
    ready.widgetGeneratedAt = new Date();
    em.persist(
      Object.assign(new Membership(), {
        organization: ready,
        email: 'director.ready@example.ru',
        lastName: 'Готова',
        firstName: 'Анна',
        roles: ['admin'],
        status: MembershipStatus.Confirmed,
      }),
    );
    await em.flush();
    operator = (await operatorBrowser(t)).browser;
    for (const [email, lastName] of [
      ['first.invited@example.ru', 'Первова'],
      ['second.invited@example.ru', 'Вторая'],
    ]) {
      const added = await operator.postJson(`/api/v1/pos/organizations/${pending.id}/members`, {
        email,
        lastName,
        firstName: 'Ольга',
        roles: ['executor'],
      });
      expect(added.status).toBe(201);
    }
  });

  const status = (query = '') =>
    operator
      .get(`/api/v1/pos/organizations/${city.id}/connection-status${query}`)
      .then((r) => json<StatusRow[]>(r));
  // Siblings come in path (uuid) order: compare the sets.
  const names = (rows: StatusRow[] | Organization[]) => rows.map((row) => row.name).sort();

  it("filters: «нет администратора», «ЛКО не готов», «нет виджета», and one authority's subtree", async () => {
    expect(names(await status())).toEqual(names([city, education, ready, pending, arts]));
    const noAdmin = names([city, education, pending, arts]);
    expect(names(await status('?filter=no_admin'))).toEqual(noAdmin);
    expect(names(await status('?filter=lko_not_ready'))).toEqual(noAdmin);
    // «нет виджета» means not found on the site: a generated code alone does not count.
    expect(names(await status('?filter=no_widget'))).toEqual(
      names([city, education, ready, pending, arts]),
    );
    expect(names(await status(`?authority=${education.id}`))).toEqual(
      names([education, ready, pending]),
    );
    expect(names(await status(`?authority=${education.id}&filter=no_admin`))).toEqual(
      names([education, pending]),
    );
  });

  it('shows a totals row, roll-ups per authority and drill-down links to each state', async () => {
    const html = await (await operator.get(`/pos/admin?org=${city.id}&tab=status`)).text();
    const totals = /<tr id="status-totals">([\s\S]*?)<\/tr>/.exec(html)![1];
    expect(totals).toContain('Итого: 5 орг.');
    expect(totals).toMatch(/data-label="Приглашены"><a [^>]*>2<\/a>/);
    expect(totals).toMatch(/data-label="Подтверждены"><a [^>]*>1<\/a>/);
    expect(totals).toContain('1 из 5');

    const rollups = /<table class="cards" id="status-rollups">([\s\S]*?)<\/table>/.exec(html)![1];
    const educationRow = new RegExp(`data-lko="${education.lkoNumber}">([\\s\\S]*?)</tr>`).exec(
      rollups,
    )![1];
    expect(educationRow).toMatch(/data-label="Организаций">3</);
    expect(educationRow).toMatch(/data-label="С администратором">1</);
    expect(educationRow).toMatch(/data-label="Приглашены">2</);
    expect(rollups).not.toContain(`data-lko="${arts.lkoNumber}"`);

    // A row's count leads to that organisation's member list filtered by the state.
    expect(html).toContain(
      `href="/pos/admin?org=${pending.id}&amp;tab=members&amp;status=invited" data-state="invited">2</a>`,
    );
    const filtered = await (
      await operator.get(`/pos/admin?org=${city.id}&tab=status&filter=no_admin`)
    ).text();
    expect(filtered).not.toContain(`data-lko="${ready.lkoNumber}"`);
    expect(filtered).toContain('Итого: 4 орг.');
  });

  it('drills down from a state to its accounts with the date of their last invitation', async () => {
    const html = await (
      await operator.get(`/pos/admin?org=${city.id}&tab=status&state=invited`)
    ).text();
    const list = /<table class="cards" id="drill-down-table">([\s\S]*?)<\/table>/.exec(html)![1];
    for (const email of ['first.invited@example.ru', 'second.invited@example.ru']) {
      const row = new RegExp(`data-member="${email}">([\\s\\S]*?)</tr>`).exec(list)![1];
      expect(row).toMatch(/data-label="Последнее приглашение">\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}</);
      expect(row).toContain(`/pos/admin?org=${pending.id}&amp;tab=members&amp;status=invited`);
    }
    expect(list).not.toContain('director.ready@example.ru');
  });

  it('downloads the same columns and rows as CSV and XLSX, filters included', async () => {
    const csvResponse = await operator.get(
      `/api/v1/pos/organizations/${city.id}/connection-status?format=csv&filter=no_admin`,
    );
    const csv = (await csvResponse.text())
      .replace(/^\uFEFF/, '')
      .trimEnd()
      .split('\r\n');
    const xlsxResponse = await operator.get(
      `/api/v1/pos/organizations/${city.id}/connection-status?format=xlsx&filter=no_admin`,
    );
    expect(xlsxResponse.status).toBe(200);
    expect(xlsxResponse.headers.get('content-type')).toContain('spreadsheetml');
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(await xlsxResponse.arrayBuffer());
    const sheet = workbook.worksheets[0];
    const xlsx: string[][] = [];
    sheet.eachRow((row) => xlsx.push(STATUS_HEADERS.map((_, i) => row.getCell(i + 1).text)));

    expect(csv[0].split(';')).toEqual(STATUS_HEADERS);
    expect(xlsx[0]).toEqual(STATUS_HEADERS);
    // Header, four organisations without an administrator, the totals row.
    expect(csv).toHaveLength(6);
    expect(xlsx).toHaveLength(6);
    expect(xlsx.map((cells) => cells.join(';'))).toEqual(csv);
    expect(csv[5]).toContain(';Итого;');
  });
});
