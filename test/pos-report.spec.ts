import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startTestApp, type TestApp } from './support/app.js';
import { json, operatorBrowser, organization } from './support/pos.js';
import { generateTree } from './support/tree.js';
import { type StatusRow } from '../src/pos/report.service.js';
import { type Organization } from '../src/pos/organization.entity.js';
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
