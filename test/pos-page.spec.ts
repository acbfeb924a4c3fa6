import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { User } from '../src/identity/user.entity.js';
import { Membership, MembershipStatus } from '../src/pos/membership.entity.js';
import { Organization } from '../src/pos/organization.entity.js';
import { Session } from '../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { login, STRONG_PASSWORD } from './support/http.js';
import { memberBrowser, organization } from './support/pos.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000' }, { listen: true });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

describe('the /pos page', () => {
  it('sends a browser without a session to log in', async () => {
    const response = await new Browser(t.url).get('/pos');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?returnTo=%2Fpos');
  });

  it('shows the first-login dialog until both boxes are ticked, then the account as «Подтвержден»', async () => {
    const org = await organization(t.em(), 'Школа № 7', null);
    const { browser, membership } = await memberBrowser(
      t,
      org,
      ['admin'],
      MembershipStatus.Registered,
    );
    const page = await browser.get('/pos');
    const html = await page.text();
    expect(html).toContain('Мною пройдено обучение');
    expect(html).toContain('Личный кабинет организации готов к работе');
    expect(html).toContain('Зарегистрирован');
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];

    const half = await browser.postForm('/pos/confirmation', {
      csrf,
      membershipId: membership.id,
      trainingCompleted: 'on',
    });
    expect(half.status).toBe(422);
    expect((await t.em().findOneOrFail(Membership, membership.id)).status).toBe('registered');

    const forged = await browser.postForm('/pos/confirmation', {
      csrf: 'x'.repeat(43),
      membershipId: membership.id,
      trainingCompleted: 'on',
      organizationReady: 'on',
    });
    expect(forged.status).toBe(403);

    const done = await browser.postForm('/pos/confirmation', {
      csrf,
      membershipId: membership.id,
      trainingCompleted: 'on',
      organizationReady: 'on',
    });
    expect(done.status).toBe(303);
    expect((await t.em().findOneOrFail(Membership, membership.id)).status).toBe('confirmed');
    const after = await (await browser.get('/pos')).text();
    expect(after).not.toContain('Мною пройдено обучение');
    expect(after).toContain('Подтвержден');
  });
});

describe('/pos/admin: a member’s «Активные сеансы» and «Завершить все сеансы»', () => {
  /** The page's HTML and its form token. */
  async function page(browser: Browser, path: string): Promise<{ html: string; csrf: string }> {
    const response = await browser.get(path);
    expect(response.status).toBe(200);
    const html = await response.text();
    return { html, csrf: /name="csrf" value="([^"]+)"/.exec(html)![1] };
  }

  /** The member's person on a second device: its own session cookie and access token. */
  const secondDevice = (user: User) => login(t, { login: user.login, password: STRONG_PASSWORD });

  /** What the member's cookie and bearer token get from the API. */
  async function alive(device: { cookie: string; accessToken: string }): Promise<number[]> {
    const me = (headers: Record<string, string>) =>
      fetch(`${t.url}/api/v1/me`, { headers }).then((response) => response.status);
    return [
      await me({ cookie: device.cookie }),
      await me({ authorization: `Bearer ${device.accessToken}` }),
    ];
  }

  const sessionsPath = (membership: Membership) => `/pos/admin/members/${membership.id}/sessions`;
  const endedEvents = (membership: Membership) =>
    t.em().count(AuditEvent, {
      type: 'pos.member.sessions_ended',
      details: { membershipId: membership.id },
    });

  it('sends a browser without a session to log in', async () => {
    const org = await organization(t.em(), 'Школа № 21', null);
    const { membership } = await memberBrowser(t, org, ['moderator']);
    const response = await new Browser(t.url).get(sessionsPath(membership));
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(
      `/login?returnTo=${encodeURIComponent(sessionsPath(membership))}`,
    );
  });

  it('lists the member’s live sessions and ends them all: cookie and bearer token refused, the administrator’s session kept, audited', async () => {
    const org = await organization(t.em(), 'Школа № 22', null);
    const admin = await memberBrowser(t, org, ['admin']);
    const member = await memberBrowser(t, org, ['moderator', 'executor']);
    const device = await secondDevice(member.user);
    expect(await alive(device)).toEqual([200, 200]);

    // The members list links to each other member's sessions, not to the administrator's own.
    const list = await page(admin.browser, `/pos/admin?org=${org.id}&tab=members`);
    expect(list.html).toContain(`href="${sessionsPath(member.membership)}"`);
    expect(list.html).not.toContain(`href="${sessionsPath(admin.membership)}"`);

    const view = await page(admin.browser, sessionsPath(member.membership));
    expect(view.html).toContain('Активные сеансы пользователя');
    expect(view.html).toContain(member.membership.email);
    expect(view.html).toContain(`data-session="${device.sessionId}"`);
    expect(view.html).toContain('Логин и пароль');
    expect(view.html).toContain('Завершить все сеансы');
    expect((view.html.match(/data-session="/g) ?? []).length).toBe(2);
    // Neither the member's cookie value nor the administrator's own session appears.
    expect(view.html).not.toContain(device.cookie.split('=')[1]);
    expect(view.html).not.toContain('Этот сеанс');

    const form = { csrf: view.csrf, organizationId: org.id };
    const endPath = `${sessionsPath(member.membership)}/end`;
    const forged = await admin.browser.postForm(endPath, { ...form, csrf: 'x'.repeat(43) });
    expect(forged.status).toBe(403);
    expect((await admin.browser.postFormCrossSite(endPath, form)).status).toBe(403);
    expect(await alive(device)).toEqual([200, 200]);
    expect(await endedEvents(member.membership)).toBe(0);

    const ended = await admin.browser.postForm(endPath, form);
    expect(ended.status).toBe(303);
    expect(ended.headers.get('location')).toBe(
      `${sessionsPath(member.membership)}?notice=sessions_ended`,
    );
    expect(await alive(device)).toEqual([401, 401]);
    expect((await member.browser.get('/api/v1/me')).status).toBe(401);
    expect((await admin.browser.get('/api/v1/me')).status).toBe(200);

    const after = await page(admin.browser, Browser.location(ended));
    expect(after.html).toContain('Все сеансы пользователя завершены');
    expect(after.html).toContain('Активных сеансов нет.');
    expect(after.html).not.toContain('data-session="');
    const rows = await t.em().find(Session, { user: member.user.id });
    expect(rows.map((row) => row.revokedReason)).toEqual(['ended_by_admin', 'ended_by_admin']);
    const [event] = await t.em().find(AuditEvent, {
      type: 'pos.member.sessions_ended',
      targetUserId: member.user.id,
    });
    expect(event).toMatchObject({ actorUserId: admin.user.id, organizationId: org.id });
  });

  it('refuses an administrator of a sibling organisation through the page: 404, nothing shown, nothing ended', async () => {
    const region = await organization(t.em(), 'Комитет образования (сеансы)', null);
    const mine = await organization(t.em(), 'Школа № 23', region);
    const sibling = await organization(t.em(), 'Школа № 24', region);
    const admin = await memberBrowser(t, mine, ['admin']);
    const theirs = await memberBrowser(t, sibling, ['moderator']);
    const device = await secondDevice(theirs.user);

    const view = await admin.browser.get(sessionsPath(theirs.membership));
    expect(view.status).toBe(404);
    const html = await view.text();
    expect(html).not.toContain(theirs.membership.email);
    expect(html).not.toContain(device.sessionId);

    const { csrf } = await page(admin.browser, `/pos/admin?org=${mine.id}`);
    for (const organizationId of [mine.id, sibling.id]) {
      const end = await admin.browser.postForm(`${sessionsPath(theirs.membership)}/end`, {
        csrf,
        organizationId,
      });
      expect(end.status).toBe(404);
    }
    expect(await alive(device)).toEqual([200, 200]);
    expect((await theirs.browser.get('/api/v1/me')).status).toBe(200);
    expect(await endedEvents(theirs.membership)).toBe(0);
  });

  it('refuses (403 sessions_out_of_reach) when the person also works in an organisation outside the subtree', async () => {
    const region = await organization(t.em(), 'Управление образования (сеансы)', null);
    const mine = await organization(t.em(), 'Школа № 25', region);
    const elsewhere = await organization(t.em(), 'Школа № 26', region);
    const admin = await memberBrowser(t, mine, ['admin']);
    const member = await memberBrowser(t, mine, ['moderator']);
    // The same person also holds a live account in a sibling organisation.
    const em = t.em();
    em.persist(
      Object.assign(new Membership(), {
        organization: em.getReference(Organization, elsewhere.id),
        email: `also.${member.membership.email}`,
        lastName: 'Тестова',
        firstName: 'Мария',
        roles: ['executor'],
        status: MembershipStatus.Confirmed,
        user: em.getReference(User, member.user.id),
      }),
    );
    await em.flush();
    const device = await secondDevice(member.user);

    const view = await admin.browser.get(sessionsPath(member.membership));
    expect(view.status).toBe(403);
    const html = await view.text();
    expect(html).toContain('которые вам не подчинены');
    expect(html).not.toContain(device.sessionId);
    const { csrf } = await page(admin.browser, `/pos/admin?org=${mine.id}`);
    const end = await admin.browser.postForm(`${sessionsPath(member.membership)}/end`, {
      csrf,
      organizationId: mine.id,
    });
    expect(end.status).toBe(403);
    expect(await alive(device)).toEqual([200, 200]);
    expect(await endedEvents(member.membership)).toBe(0);
  });
});
