import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { Invitation } from '../src/pos/invitation.entity.js';
import { Membership, MembershipStatus } from '../src/pos/membership.entity.js';
import { type Organization } from '../src/pos/organization.entity.js';
import { type PosRole } from '../src/pos/roles.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { expected, type FixtureMember, insertMembers, SORTS } from './support/members.js';
import { json, memberBrowser, organization, patchJson } from './support/pos.js';
import { invitationLink, TestSmtp } from './support/smtp.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

const smtp = new TestSmtp();
let t: TestApp;
let school: Organization;
let admin: Browser;
let fixture: FixtureMember[];

interface Page {
  items: { id: string; email: string; roles: string[]; status: string }[];
  counts: Record<string, number>;
  nextCursor: string | null;
  prevCursor: string | null;
}

beforeAll(async () => {
  await smtp.start();
  t = await startTestApp(
    {
      SMTP_URL: smtp.url,
      GOSUSLUGI_SCOPES: 'openid fullname snils',
      THROTTLE_AUTH_LIMIT: '100000',
      THROTTLE_LIMIT: '100000',
    },
    { listen: true },
  );
  school = await organization(t.em(), 'Гимназия № 500', null);
  fixture = await insertMembers(t.em(), school, 500, 'list');
  admin = (await memberBrowser(t, school, ['admin'])).browser;
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
  await smtp.stop();
});

const listPath = (org: Organization, query: Record<string, string>) =>
  `/api/v1/pos/organizations/${org.id}/members?${new URLSearchParams(query).toString()}`;

async function list(query: Record<string, string>, org = school): Promise<Page> {
  const response = await admin.get(listPath(org, query));
  expect(response.status).toBe(200);
  return json<Page>(response);
}

/** Every page of a query, following nextCursor; the administrator's own row left out. */
async function walk(query: Record<string, string>): Promise<{ ids: string[]; pages: Page[] }> {
  const pages: Page[] = [];
  let cursor: string | null = null;
  do {
    const page = await list({ ...query, ...(cursor && { cursor }) });
    expect(page.items.length).toBeLessThanOrEqual(50);
    pages.push(page);
    cursor = page.nextCursor;
  } while (cursor);
  const fixtureIds = new Set(fixture.map((m) => m.id));
  return {
    ids: pages.flatMap((p) => p.items.map((m) => m.id)).filter((id) => fixtureIds.has(id)),
    pages,
  };
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1];

describe('Must show 2: a list of 500 members — search, filters, sort and keyset pages', () => {
  it.each(SORTS)(
    'sort %s: keyset pages of 50 give exactly the rows computed from the fixture',
    async (sort) => {
      const { ids, pages } = await walk({ sort });
      expect(ids).toEqual(expected(fixture, { sort }).map((m) => m.id));
      // 400 live fixture rows and the administrator: nine pages, the first without «Предыдущие».
      expect(pages).toHaveLength(9);
      expect(pages[0].prevCursor).toBeNull();
    },
  );

  it('«Предыдущие» walks back to the same pages', async () => {
    const { pages } = await walk({ sort: '-invited' });
    let back = pages[pages.length - 1].prevCursor;
    for (let index = pages.length - 2; index >= 0; index--) {
      const page = await list({ sort: '-invited', cursor: back! });
      expect(page.items.map((m) => m.id)).toEqual(pages[index].items.map((m) => m.id));
      back = page.prevCursor;
    }
    expect(back).toBeNull();
  });

  it.each([
    [{ status: 'invited' }],
    [{ status: 'archived', sort: 'email' }],
    [{ role: 'moderator', sort: '-name' }],
    [{ search: 'ЕЛКИН' }],
    [{ search: 'алёш', status: 'confirmed', role: 'executor' }],
    [{ search: 'SCHOOL3.example', sort: 'status' }],
    [{ search: '100_%' }],
  ] as Record<string, string>[][])('filters %j return the right rows and counts', async (query) => {
    const { ids, pages } = await walk(query);
    expect(ids).toEqual(expected(fixture, query as never).map((m) => m.id));
    const counts = pages[0].counts;
    for (const status of ['invited', 'registered', 'confirmed', 'archived']) {
      const others = expected(fixture, { ...query, status }).length;
      // The administrator (confirmed, role admin, «Тестова Мария») matches only unfiltered.
      const own =
        status === 'confirmed' && !query.search && (!query.role || query.role === 'admin');
      expect(counts[status]).toBe(others + (own ? 1 : 0));
    }
  });

  it('refuses bad parameters with 422 and a code per field, and another organisation’s list', async () => {
    const bad = async (query: Record<string, string>, field: string) => {
      const response = await admin.get(listPath(school, query));
      expect(response.status).toBe(422);
      const body = await json<{ code: string; errors: Record<string, unknown> }>(response);
      expect(body.code).toBe('validation_failed');
      expect(Object.keys(body.errors)).toContain(field);
    };
    await bad({ sort: 'lastName; drop table users' }, 'sort');
    await bad({ status: 'deleted' }, 'status');
    await bad({ role: 'root' }, 'role');
    await bad({ limit: '0' }, 'limit');
    await bad({ limit: '101' }, 'limit');
    await bad({ cursor: 'not-a-cursor' }, 'cursor');
    const first = await list({ sort: 'invited' });
    // A cursor of one order is refused in another, and a forged key never reaches a cast.
    await bad({ sort: 'name', cursor: first.nextCursor! }, 'cursor');
    const forged = Buffer.from(
      JSON.stringify(['invited', 'n', 'yesterday', fixture[0].id]),
    ).toString('base64url');
    await bad({ sort: 'invited', cursor: forged }, 'cursor');
    // Dates of the right shape that are no dates (month 99, 31 February) are refused too, not cast.
    for (const key of [
      '2026-99-99 99:99:99+00',
      '2026-02-31 10:00:00+03',
      '2026-01-01 10:00:00+99',
    ]) {
      const impossible = Buffer.from(JSON.stringify(['invited', 'n', key, fixture[0].id])).toString(
        'base64url',
      );
      await bad({ sort: 'invited', cursor: impossible }, 'cursor');
    }
    const other = await organization(t.em(), 'Соседняя школа', null);
    expect((await admin.get(listPath(other, {}))).status).toBe(404);
  });

  it('the members tab shows 50 rows, counts per status, and «Следующие 50» to the next keyset page', async () => {
    const response = await admin.get(
      `/pos/admin?org=${school.id}&tab=members&sort=email&status=invited`,
    );
    expect(response.status).toBe(200);
    const html = await response.text();
    const rows = [...html.matchAll(/data-member-id="([^"]+)"/g)].map((m) => m[1]);
    const want = expected(fixture, { sort: 'email', status: 'invited' }).map((m) => m.id);
    expect(rows).toEqual(want.slice(0, 50));
    expect(html).toMatch(
      /data-status-count="invited" aria-current="true">Приглашен: <strong>200<\/strong>/,
    );
    expect(html).toMatch(/data-status-count="archived">В архиве: <strong>100<\/strong>/);
    const next = /href="([^"]+)" rel="next">Следующие 50/.exec(html)![1].replaceAll('&amp;', '&');
    const second = await (await admin.get(next)).text();
    expect([...second.matchAll(/data-member-id="([^"]+)"/g)].map((m) => m[1])).toEqual(
      want.slice(50, 100),
    );
    expect(second).toContain('rel="prev">Предыдущие');
    // A link edited by hand shows the first page and says so, never a 500.
    const stale = await admin.get(`/pos/admin?org=${school.id}&tab=members&cursor=xyz`);
    expect(stale.status).toBe(200);
    expect(await stale.text()).toContain('показана первая страница');
  });
});

describe('roles in place, invitee corrections, re-send to all', () => {
  it('saves roles from the row’s form (same-origin, audited); an empty choice is refused', async () => {
    const target = fixture.find((m) => m.status === MembershipStatus.Registered)!;
    const html = await (await admin.get(`/pos/admin?org=${school.id}&tab=members`)).text();
    const body = new URLSearchParams({
      csrf: csrfOf(html),
      organizationId: school.id,
      back: 'sort=email',
    });
    body.append('roles', 'head');
    body.append('roles', 'curator');
    const path = `/pos/admin/members/${target.id}/edit/roles`;
    const post = (form: URLSearchParams, headers: Record<string, string> = {}) =>
      admin.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: form.toString(),
      });
    expect(
      (await post(body, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status,
    ).toBe(403);
    const saved = await post(body);
    expect(saved.status).toBe(303);
    expect(Browser.location(saved)).toBe(
      `/pos/admin?org=${school.id}&tab=members&sort=email&notice=roles_saved`,
    );
    expect((await t.em().findOneOrFail(Membership, target.id)).roles).toEqual(['head', 'curator']);
    expect(
      await t.em().count(AuditEvent, {
        type: 'pos.member.roles_changed',
        details: { membershipId: target.id },
      }),
    ).toBe(1);
    const none = await post(new URLSearchParams({ csrf: csrfOf(html), organizationId: school.id }));
    expect(none.status).toBe(422);
    expect(await none.text()).toContain('Выберите хотя бы одну роль');
  });

  it('corrects an invitee: a new address gets a new link and the old link is refused; refused 409 once accepted', async () => {
    const org = await organization(t.em(), 'Лицей № 2', null);
    const head = (await memberBrowser(t, org, ['admin'])).browser;
    const added = await json<{ id: string }>(
      await head.postJson(`/api/v1/pos/organizations/${org.id}/members`, {
        email: 'typo@exmaple.ru',
        lastName: 'Смирнва',
        firstName: 'Ольга',
        roles: ['executor'],
      }),
    );
    const oldLink = new URL(invitationLink(await smtp.waitFor('typo@exmaple.ru'))).pathname;
    // The name alone: the link already sent stays good.
    const named = await patchJson(head, `/api/v1/pos/members/${added.id}`, {
      lastName: 'Смирнова',
    });
    expect(named.status).toBe(200);
    expect((await new Browser(t.url).get(oldLink)).status).toBe(200);
    const moved = await patchJson(head, `/api/v1/pos/members/${added.id}`, {
      email: 'olga@example.ru',
      snils: '112-233-445 95',
    });
    expect(moved.status).toBe(200);
    expect(await json(moved)).toMatchObject({
      email: 'olga@example.ru',
      lastName: 'Смирнова',
      snilsLast3: '595',
    });
    const newLink = new URL(invitationLink(await smtp.waitFor('olga@example.ru'))).pathname;
    expect((await new Browser(t.url).get(oldLink)).status).not.toBe(200);
    expect((await new Browser(t.url).get(newLink)).status).toBe(200);
    const revoked = await t
      .em()
      .find(Invitation, { membership: added.id, revokedReason: 'email_changed' });
    expect(revoked).toHaveLength(1);
    expect(
      await t.em().count(AuditEvent, {
        type: 'pos.member.invitee_edited',
        details: { membershipId: added.id },
      }),
    ).toBe(2);
    // The page's form does the same.
    const page = await (await head.get(`/pos/admin?org=${org.id}&tab=members`)).text();
    expect(page).toContain(`/pos/admin/members/${added.id}/edit/invitee`);
    const form = {
      csrf: csrfOf(page),
      organizationId: org.id,
      lastName: 'Смирнова',
      firstName: 'Ольга',
      middleName: 'Петровна',
      email: 'olga@example.ru',
    };
    const posted = await head.postForm(`/pos/admin/members/${added.id}/edit/invitee`, form);
    expect(posted.status).toBe(303);
    expect((await t.em().findOneOrFail(Membership, added.id)).middleName).toBe('Петровна');
    // Once the invitation is accepted, the person's data are theirs.
    await t
      .em()
      .nativeUpdate(Membership, { id: added.id }, { status: MembershipStatus.Registered });
    const late = await patchJson(head, `/api/v1/pos/members/${added.id}`, {
      email: 'late@example.ru',
    });
    expect(late.status).toBe(409);
    expect((await json(late)).code).toBe('invitee_not_editable');
    const latePage = await head.postForm(`/pos/admin/members/${added.id}/edit/invitee`, {
      ...form,
      email: 'late@example.ru',
    });
    expect(latePage.status).toBe(409);
    // Another organisation's administrator cannot reach it; bad input is 422.
    expect(
      (await patchJson(admin, `/api/v1/pos/members/${added.id}`, { lastName: 'Х' })).status,
    ).toBe(404);
    expect(
      (await patchJson(head, `/api/v1/pos/members/${added.id}`, { email: 'не адрес' })).status,
    ).toBe(422);
  }, 60_000);

  it('«Отправить повторно всем приглашённым» sends to every invitee and skips an address over the hourly limit', async () => {
    const org = await organization(t.em(), 'Школа № 3', null);
    const head = (await memberBrowser(t, org, ['admin'])).browser;
    const ids: string[] = [];
    for (const email of ['r1@example.ru', 'r2@example.ru', 'r3@example.ru']) {
      const added = await head.postJson(`/api/v1/pos/organizations/${org.id}/members`, {
        email,
        lastName: 'Орлова',
        firstName: 'Анна',
        roles: ['executor'] satisfies PosRole[],
      });
      ids.push((await json<{ id: string }>(added)).id);
    }
    // r3 has had its four invitations this hour.
    for (let i = 0; i < 3; i++)
      expect(
        (await head.postJson(`/api/v1/pos/members/${ids[2]}/resend-invitation`, {})).status,
      ).toBe(200);
    const html = await (await head.get(`/pos/admin?org=${org.id}&tab=members`)).text();
    expect(html).toContain('Отправить повторно всем приглашённым');
    const posted = await head.postForm('/pos/admin/members/resend-all', {
      csrf: csrfOf(html),
      organizationId: org.id,
    });
    expect(posted.status).toBe(303);
    const result = await (await head.get(Browser.location(posted))).text();
    expect(result).toContain('Отправлено: 2, пропущено: 1 (лимит');
    const api = await json(
      await head.postJson(`/api/v1/pos/organizations/${org.id}/members/resend-invitations`, {}),
    );
    expect(api).toEqual({ sent: 2, skipped: 1 });
    const invitations = async (id: string) => t.em().count(Invitation, { membership: id });
    expect([
      await invitations(ids[0]),
      await invitations(ids[1]),
      await invitations(ids[2]),
    ]).toEqual([3, 3, 4]);
    await smtp.waitFor('r1@example.ru');
    expect(
      await t.em().count(AuditEvent, { type: 'pos.invitation.resent_all', organizationId: org.id }),
    ).toBe(2);
  }, 60_000);
});
