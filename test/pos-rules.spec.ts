import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { LoginTransaction } from '../src/gosuslugi/login-transaction.entity.js';
import { Invitation } from '../src/pos/invitation.entity.js';
import { Membership, MembershipStatus } from '../src/pos/membership.entity.js';
import { type Organization } from '../src/pos/organization.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { begin, forgetStandInSession, throughStandIn } from './support/gosuslugi.js';
import {
  invitee,
  json,
  memberBrowser,
  operatorBrowser,
  organization,
  patchJson,
} from './support/pos.js';
import { invitationLink, TestSmtp } from './support/smtp.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

const smtp = new TestSmtp();
let t: TestApp;
let region: Organization;
let a: Organization;
let b: Organization;
let belowA: Organization;

beforeAll(async () => {
  await smtp.start();
  t = await startTestApp(
    {
      SMTP_URL: smtp.url,
      MAIL_RETRY_DELAY: '1s',
      THROTTLE_AUTH_LIMIT: '100000',
      THROTTLE_LIMIT: '100000',
    },
    { listen: true },
  );
  const em = t.em();
  region = await organization(em, 'Министерство (корень)', null);
  a = await organization(em, 'Учреждение A', region);
  b = await organization(em, 'Учреждение B (соседнее)', region);
  belowA = await organization(em, 'Филиал учреждения A', a);
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
  await smtp.stop();
});

const member = (org: Organization, email: string) => ({
  email,
  lastName: 'Иванов',
  firstName: 'Иван',
  roles: ['executor'],
});

describe('ПОС: an administrator acts only within their subtree', () => {
  it('cannot list, invite into, change roles in, archive in, read the report of or the widget of a sibling or the parent', async () => {
    const { browser } = await memberBrowser(t, a, ['admin']);
    const inB = await memberBrowser(t, b, ['executor']);
    const inRegion = await memberBrowser(t, region, ['executor']);

    for (const target of [b, region]) {
      const attempts = [
        await browser.get(`/api/v1/pos/organizations/${target.id}`),
        await browser.get(`/api/v1/pos/organizations/${target.id}/members`),
        await browser.postJson(
          `/api/v1/pos/organizations/${target.id}/members`,
          member(target, `x${target.id.slice(0, 6)}@example.ru`),
        ),
        await browser.get(`/api/v1/pos/organizations/${target.id}/connection-status`),
        await browser.get(`/api/v1/pos/organizations/${target.id}/children`),
        await patchJson(browser, `/api/v1/pos/organizations/${target.id}`, { name: 'Захвачено' }),
        await browser.postJson(`/api/v1/pos/organizations/${target.id}/widget`, {
          variant: 'standard',
          siteUrl: 'https://evil.example',
        }),
      ];
      // Out of reach is «not found», never «forbidden»: the organisation's existence does not leak.
      for (const response of attempts) expect(response.status).toBe(404);
    }
    for (const other of [inB.membership, inRegion.membership]) {
      const attempts = [
        await patchJson(browser, `/api/v1/pos/members/${other.id}/roles`, { roles: ['admin'] }),
        await browser.postJson(`/api/v1/pos/members/${other.id}/archive`, {}),
        await browser.postJson(`/api/v1/pos/members/${other.id}/resend-invitation`, {}),
      ];
      for (const response of attempts) expect(response.status).toBe(404);
    }
    const untouched = await t
      .em()
      .find(Membership, { id: { $in: [inB.membership.id, inRegion.membership.id] } });
    for (const m of untouched)
      expect(m).toMatchObject({ roles: ['executor'], status: 'confirmed' });
    expect(
      await t.em().count(Membership, {
        organization: { $in: [b.id, region.id] },
        status: MembershipStatus.Invited,
      }),
    ).toBe(0);
  });

  it('can act on its own organisation and everything below it', async () => {
    const { browser } = await memberBrowser(t, a, ['admin']);
    expect((await browser.get(`/api/v1/pos/organizations/${belowA.id}/members`)).status).toBe(200);
    const added = await browser.postJson(
      `/api/v1/pos/organizations/${belowA.id}/members`,
      member(belowA, 'branch.head@example.ru'),
    );
    expect(added.status).toBe(201);
    const report = await json<unknown[]>(
      await browser.get(`/api/v1/pos/organizations/${a.id}/connection-status`),
    );
    expect(report).toHaveLength(2);
    const visible = await json<{ id: string }[]>(await browser.get('/api/v1/pos/organizations'));
    expect(visible.map((o) => o.id).sort()).toEqual([a.id, belowA.id].sort());
  });

  it('cannot archive its own account (it would lock itself out)', async () => {
    const { browser, membership } = await memberBrowser(t, a, ['admin']);
    const response = await browser.postJson(`/api/v1/pos/members/${membership.id}/archive`, {});
    expect(response.status).toBe(409);
    expect((await json(response)).code).toBe('archive_self');
    expect((await t.em().findOneOrFail(Membership, membership.id)).status).toBe('confirmed');
  });

  it('ignores smuggled roles, status and organisation fields: unknown fields are refused and nothing changes', async () => {
    const { browser } = await memberBrowser(t, a, ['admin']);
    const smuggled = await browser.postJson(`/api/v1/pos/organizations/${a.id}/members`, {
      ...member(a, 'smuggle@example.ru'),
      status: 'confirmed',
      organizationId: b.id,
      userId: '00000000-0000-4000-8000-000000000000',
    });
    expect(smuggled.status).toBe(422);
    expect(Object.keys((await json<{ errors: object }>(smuggled)).errors).sort()).toEqual([
      'organizationId',
      'status',
      'userId',
    ]);
    expect(await t.em().count(Membership, { email: 'smuggle@example.ru' })).toBe(0);

    const self = await memberBrowser(t, a, ['executor']);
    const confirm = await self.browser.postJson('/api/v1/pos/me/confirmation', {
      membershipId: self.membership.id,
      trainingCompleted: true,
      organizationReady: true,
      roles: ['admin'],
    });
    expect(confirm.status).toBe(422);
    const rename = await patchJson(browser, `/api/v1/pos/organizations/${a.id}`, {
      name: 'Новое имя',
      parentId: b.id,
      lkoNumber: '1',
    });
    expect(rename.status).toBe(422);
    expect((await t.em().findOneOrFail(Membership, self.membership.id)).roles).toEqual([
      'executor',
    ]);
  });

  it('changes roles within its subtree, audited, and refuses names with line breaks', async () => {
    const { browser } = await memberBrowser(t, a, ['admin']);
    const other = await memberBrowser(t, belowA, ['executor']);
    const changed = await patchJson(browser, `/api/v1/pos/members/${other.membership.id}/roles`, {
      roles: ['executor', 'head'],
    });
    expect(changed.status).toBe(200);
    expect((await json<{ roleNames: string[] }>(changed)).roleNames).toEqual([
      'Исполнитель',
      'Руководитель',
    ]);
    const [event] = await t.em().find(AuditEvent, {
      type: 'pos.member.roles_changed',
      details: { membershipId: other.membership.id },
    });
    expect(event.details).toMatchObject({ before: ['executor'], after: ['executor', 'head'] });
    const injected = await browser.postJson(`/api/v1/pos/organizations/${a.id}/members`, {
      ...member(a, 'crlf@example.ru'),
      lastName: 'Иванов\nBcc: evil@example',
    });
    expect(injected.status).toBe(422);
    expect(
      (await json<{ errors: Record<string, { code: string }[]> }>(injected)).errors.lastName[0]
        .code,
    ).toBe('control_character');
  });

  it('refuses roles outside the role matrix', async () => {
    const { browser } = await memberBrowser(t, a, ['admin']);
    const response = await browser.postJson(`/api/v1/pos/organizations/${a.id}/members`, {
      ...member(a, 'root@example.ru'),
      roles: ['superuser'],
    });
    expect(response.status).toBe(422);
    expect(
      (await json<{ errors: Record<string, { code: string }[]> }>(response)).errors.roles[0].code,
    ).toBe('unknown_role');
  });

  it('lets only a platform operator create organisations', async () => {
    const { browser } = await memberBrowser(t, region, ['admin']);
    const refused = await browser.postJson('/api/v1/pos/organizations', {
      name: 'Новое учреждение',
      kind: 'institution',
      parentId: region.id,
    });
    expect(refused.status).toBe(403);
    expect((await json(refused)).code).toBe('operator_required');
  });
});

describe('ПОС: the confirmation gate', () => {
  it('closes back-office and admin routes with confirmation_required until both boxes are ticked', async () => {
    const backoffice = await memberBrowser(t, a, ['moderator'], MembershipStatus.Registered);
    const admin = await memberBrowser(t, a, ['admin'], MembershipStatus.Registered);
    for (const [browser, path] of [
      [backoffice.browser, '/api/v1/pos/backoffice/session'],
      [admin.browser, '/api/v1/pos/admin/session'],
      [admin.browser, `/api/v1/pos/organizations/${a.id}/members`],
    ] as const) {
      const response = await browser.get(path);
      expect(response.status).toBe(403);
      expect((await json(response)).code).toBe('confirmation_required');
    }
    for (const { browser, membership } of [backoffice, admin]) {
      expect(
        (
          await browser.postJson('/api/v1/pos/me/confirmation', {
            membershipId: membership.id,
            trainingCompleted: true,
            organizationReady: true,
          })
        ).status,
      ).toBe(204);
    }
    const session = await json<{ memberships: { roles: string[] }[] }>(
      await backoffice.browser.get('/api/v1/pos/backoffice/session'),
    );
    expect(session.memberships[0].roles).toEqual(['moderator']);
    expect((await admin.browser.get('/api/v1/pos/admin/session')).status).toBe(200);
    expect((await admin.browser.get(`/api/v1/pos/organizations/${a.id}/members`)).status).toBe(200);
    // A back-office role is not an admin role, and the other way round.
    expect((await backoffice.browser.get('/api/v1/pos/admin/session')).status).toBe(403);
  });
});

describe('ПОС: invitations', () => {
  /** An invitation for the stand-in's test person `oid` (the acceptance must be theirs). */
  async function invite(
    email: string,
    into: Organization = b,
    oid = 1000000001,
  ): Promise<{ admin: Browser; membershipId: string; link: string }> {
    const operator = await operatorBrowser(t);
    const response = await operator.browser.postJson(
      `/api/v1/pos/organizations/${into.id}/members`,
      {
        ...member(into, email),
        ...invitee(oid),
        roles: ['admin'],
      },
    );
    expect(response.status).toBe(201);
    return {
      admin: operator.browser,
      membershipId: (await json<{ id: string }>(response)).id,
      link: new URL(invitationLink(await smtp.waitFor(email))).pathname,
    };
  }

  async function acceptWith(browser: Browser, link: string, oid: number): Promise<Response> {
    return browser.get(await throughStandIn(browser, `${link}/accept`, oid));
  }

  it('is single use: a second acceptance gets the «already used» page', async () => {
    const { link } = await invite('once@example.ru');
    expect((await acceptWith(new Browser(t.url), link, 1000000001)).status).toBe(303);
    const again = await new Browser(t.url).get(link);
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('Приглашение уже использовано');
  });

  it('expires', async () => {
    const { membershipId, link } = await invite('expired@example.ru');
    await t
      .em()
      .nativeUpdate(
        Invitation,
        { membership: membershipId },
        { expiresAt: new Date(Date.now() - 1000) },
      );
    const page = await new Browser(t.url).get(link);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('Срок действия приглашения истёк');
  });

  it('is revoked by a re-send: the old link is refused, the new one works', async () => {
    const { admin, membershipId, link } = await invite('resend@example.ru', b, 1000000002);
    const before = smtp.received.length;
    expect(
      (await admin.postJson(`/api/v1/pos/members/${membershipId}/resend-invitation`, {})).status,
    ).toBe(200);
    await waitForCount(before + 1);
    const fresh = new URL(invitationLink(await smtp.waitFor('resend@example.ru'))).pathname;
    expect(fresh).not.toBe(link);
    const old = await new Browser(t.url).get(link);
    expect(old.status).toBe(410);
    expect(await old.text()).toContain('Приглашение отозвано');
    expect((await acceptWith(new Browser(t.url), fresh, 1000000002)).status).toBe(303);
  });

  it('limits invitations to one address per hour, even under parallel re-sends, and leaves one live link', async () => {
    const { admin, membershipId } = await invite('limit@example.ru');
    const statuses = await Promise.all(
      Array.from(
        { length: 8 },
        async () =>
          (await admin.postJson(`/api/v1/pos/members/${membershipId}/resend-invitation`, {}))
            .status,
      ),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(5);
    expect(
      await t
        .em()
        .count(Invitation, { membership: membershipId, acceptedAt: null, revokedAt: null }),
    ).toBe(1);

    // Archive and restore, or a new account for the same address, do not reset the limit.
    expect((await admin.postJson(`/api/v1/pos/members/${membershipId}/archive`, {})).status).toBe(
      200,
    );
    const restored = await admin.postJson(`/api/v1/pos/members/${membershipId}/restore`, {});
    expect(restored.status).toBe(429);
    // Says when: the oldest invitation of the hour was sent a moment ago, so in about an hour.
    const wait = Number(restored.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(3000);
    expect(wait).toBeLessThanOrEqual(3600);
    expect(await restored.json()).toMatchObject({
      code: 'resend_limit',
      message: expect.stringMatching(
        /4 раза за последний час\. Следующее можно отправить через \d+ минут/,
      ),
    });
    expect(
      (
        await admin.postJson(`/api/v1/pos/organizations/${b.id}/members`, {
          ...member(b, 'limit@example.ru'),
          roles: ['admin'],
        })
      ).status,
    ).toBe(429);
    expect((await t.em().findOneOrFail(Membership, membershipId)).status).toBe('archived');
    const types = (await t.em().find(AuditEvent, { details: { membershipId } })).map(
      (event) => event.type,
    );
    expect(types).toEqual(
      expect.arrayContaining([
        'pos.member.invited',
        'pos.invitation.resent',
        'pos.member.archived',
      ]),
    );
  });

  it('asks Госуслуги to check the person again for each invitation, even with a Госуслуги session in the browser', async () => {
    // Persons the other tests did not make members of these organisations.
    const first = await invite('first.of.two@example.ru', belowA);
    const second = await invite('second.of.two@example.ru', region, 1000000002);
    const browser = new Browser(t.url);
    expect((await acceptWith(browser, first.link, 1000000001)).status).toBe(303);
    const start = new URL(Browser.location(await begin(browser, `${second.link}/accept`)));
    expect(start.searchParams.get('prompt')).toBe('login');
    // The stand-in shows its person picker again instead of sending the same person back.
    const next = await browser.get(start.pathname + start.search);
    const picker = await browser.get(Browser.location(next));
    expect(picker.status).toBe(200);
    expect(await picker.text()).toContain('Госуслуги (тестовый стенд)');
  });

  it('a cross-site navigation to /accept only shows the invitation: no Госуслуги trip, no transaction', async () => {
    const { link } = await invite('cross.site.get@example.ru');
    const before = await t.em().count(LoginTransaction, {});
    const lured = await new Browser(t.url).request(`${link}/accept`, {
      headers: { 'sec-fetch-site': 'cross-site', referer: 'https://evil.example/' },
    });
    expect(lured.status).toBe(303);
    expect(Browser.location(lured)).toBe(new URL(link, t.url).pathname);
    expect(await t.em().count(LoginTransaction, {})).toBe(before);
  });

  it('a forged cross-site form posted to /accept is refused: no Госуслуги trip, no transaction', async () => {
    const { link } = await invite('cross.site.post@example.ru');
    const victim = new Browser(t.url);
    // Even with the victim's own form token in hand, the origin gives the forgery away.
    const page = await (await victim.get(link)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1];
    const before = await t.em().count(LoginTransaction, {});
    const forged = await victim.postFormCrossSite(`${new URL(link, t.url).pathname}/accept`, {
      csrf,
    });
    expect(forged.status).toBe(403);
    expect(forged.headers.get('location')).toBeNull();
    expect(await t.em().count(LoginTransaction, {})).toBe(before);
  });

  it('refuses a tampered token', async () => {
    const { link } = await invite('tamper@example.ru');
    const tampered = link.slice(0, -1) + (link.endsWith('A') ? 'B' : 'A');
    const page = await new Browser(t.url).get(tampered);
    expect(page.status).toBe(404);
    expect((await new Browser(t.url).get('/pos/invitations/short')).status).toBe(404);
    const viaAccept = await new Browser(t.url).get(`${tampered}/accept`);
    expect(Browser.location(viaAccept)).toBe(new URL(tampered, t.url).pathname);
  });

  it('lets exactly one of two concurrent acceptances win', async () => {
    const { membershipId, link } = await invite('race@example.ru', b, 1000000005);
    const first = new Browser(t.url);
    const second = new Browser(t.url);
    const callbacks = [
      await throughStandIn(first, `${link}/accept`, 1000000005),
      await throughStandIn(second, `${link}/accept`, 1000000005),
    ];
    const statuses = (await Promise.all([first.get(callbacks[0]), second.get(callbacks[1])]))
      .map((r) => r.status)
      .sort();
    expect(statuses).toEqual([303, 410]);
    const membership = await t.em().findOneOrFail(Membership, membershipId);
    expect(membership.status).toBe('registered');
    expect(membership.user).not.toBeNull();
    forgetStandInSession(first);
  });

  it('binds the membership to the account already linked to that Госуслуги identity', async () => {
    const { link, membershipId } = await invite('linked@example.ru', b, 1000000004);
    const existing = await memberBrowser(t, a, ['executor']);
    // The existing account links Госуслуги person 1000000004 first (through the stand-in).
    const { linkThrough } = await import('./support/gosuslugi.js');
    expect((await linkThrough(existing.browser, 1000000004)).status).toBe(303);
    expect((await acceptWith(new Browser(t.url), link, 1000000004)).status).toBe(303);
    const membership = await t.em().findOneOrFail(Membership, membershipId, { populate: ['user'] });
    expect(membership.user!.id).toBe(existing.user.id);
  });
});

describe('ПОС: one live account per e-mail', () => {
  it('refuses a duplicate live e-mail with 409, and accepts it again after the first is archived', async () => {
    const operator = await operatorBrowser(t);
    const first = await operator.browser.postJson(
      `/api/v1/pos/organizations/${a.id}/members`,
      member(a, 'Dup@Example.ru'),
    );
    expect(first.status).toBe(201);
    const duplicate = await operator.browser.postJson(
      `/api/v1/pos/organizations/${b.id}/members`,
      member(b, 'dup@example.ru'),
    );
    expect(duplicate.status).toBe(409);
    expect(await json(duplicate)).toMatchObject({
      code: 'email_taken',
      message: expect.stringContaining('отдельный адрес'),
    });

    const id = (await json<{ id: string }>(first)).id;
    expect((await operator.browser.postJson(`/api/v1/pos/members/${id}/archive`, {})).status).toBe(
      200,
    );
    const archivedList = await json<{ items: { id: string }[] }>(
      await operator.browser.get(`/api/v1/pos/organizations/${a.id}/members?status=archived`),
    );
    expect(archivedList.items.map((m) => m.id)).toContain(id);
    const liveList = await json<{ items: { id: string }[] }>(
      await operator.browser.get(`/api/v1/pos/organizations/${a.id}/members`),
    );
    expect(liveList.items.map((m) => m.id)).not.toContain(id);
    expect(
      (
        await operator.browser.postJson(
          `/api/v1/pos/organizations/${b.id}/members`,
          member(b, 'dup@example.ru'),
        )
      ).status,
    ).toBe(201);
    // Restoring the archived one would make two live accounts with one address: refused.
    expect((await operator.browser.postJson(`/api/v1/pos/members/${id}/restore`, {})).status).toBe(
      409,
    );
    const types = (await t.em().find(AuditEvent, { details: { membershipId: id } })).map(
      (event) => event.type,
    );
    expect(types).toEqual(expect.arrayContaining(['pos.member.invited', 'pos.member.archived']));
  });

  it('ends access at once when an account is archived', async () => {
    const confirmed = await memberBrowser(t, a, ['moderator']);
    expect((await confirmed.browser.get('/api/v1/pos/backoffice/session')).status).toBe(200);
    const operator = await operatorBrowser(t);
    expect(
      (
        await operator.browser.postJson(
          `/api/v1/pos/members/${confirmed.membership.id}/archive`,
          {},
        )
      ).status,
    ).toBe(200);
    expect((await confirmed.browser.get('/api/v1/pos/backoffice/session')).status).toBe(403);
  });
});

async function waitForCount(count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (smtp.received.length < count) {
    if (Date.now() > deadline) throw new Error('mail did not arrive');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('ПОС: the site widget', () => {
  it('takes an https site, ends its code with the ЛКО number, and shows in the report', async () => {
    const { browser } = await memberBrowser(t, a, ['admin']);
    const refused = await browser.postJson(`/api/v1/pos/organizations/${a.id}/widget`, {
      variant: 'standard',
      siteUrl: 'http://school.example.ru',
    });
    expect(refused.status).toBe(422);
    expect(
      (await json<{ errors: Record<string, { code: string }[]> }>(refused)).errors.siteUrl[0].code,
    ).toBe('invalid_url');
    const unknown = await browser.postJson(`/api/v1/pos/organizations/${a.id}/widget`, {
      variant: 'neon',
      siteUrl: 'https://school.example.ru',
    });
    expect(unknown.status).toBe(422);

    const response = await browser.postJson(`/api/v1/pos/organizations/${a.id}/widget`, {
      variant: 'dark',
      bannerText: 'Задайте вопрос "школе" <b>',
      siteUrl: 'https://school.example.ru',
    });
    expect(response.status).toBe(200);
    const widget = await json<{ code: string; lkoNumber: string }>(response);
    expect(widget.lkoNumber).toBe(String(a.lkoNumber));
    // ПОС's format against the real ПОС by default (test/pos-widget.spec.ts has the structure).
    expect(
      widget.code.endsWith(
        `<script>Widget("https://pos.gosuslugi.ru/form", ${a.lkoNumber})</script>`,
      ),
    ).toBe(true);
    expect(widget.code).toContain("<div class='pos-banner-fluid bf-2'>");
    expect(widget.code).toContain(
      `<span class='bf-2__text'>Задайте вопрос "школе" &lt;b&gt;</span>`,
    );
    expect(widget.code).not.toContain('/pos/widget.js');
    const report = await json<
      { id: string; widgetGenerated: boolean; widgetPlacement: { state: string; text: string } }[]
    >(await browser.get(`/api/v1/pos/organizations/${a.id}/connection-status`));
    const row = report.find((r) => r.id === a.id)!;
    expect(row.widgetGenerated).toBe(true);
    // Generated is not placed: nobody has looked at the site yet.
    expect(row.widgetPlacement).toMatchObject({ state: 'not_checked', text: 'не проверен' });
  });
});
