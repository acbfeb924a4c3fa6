import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MfaCredential } from '../../src/identity/mfa-credential.entity.js';
import { User, UserStatus } from '../../src/identity/user.entity.js';
import { Membership, MembershipStatus } from '../../src/pos/membership.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { ageAuthentication } from '../support/gosuslugi.js';
import { register, STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { enrolTotp, loginEnrolling, type TotpApp } from '../support/mfa.js';
import { json, memberBrowser, organization, patchJson } from '../support/pos.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Highly sensitive operations need a fresh authentication (ASVS 7.5.3, 8.4.2): a session someone
 * else got hold of (a shared computer left signed in, a stolen cookie), 11 minutes after its
 * password was entered, must not add an administrator, archive, block, change the operators or
 * reset a second factor. The API answers 403 `reauthentication_required`; a page sends the browser
 * to «введите пароль ещё раз» and back. With the password (and code) entered again, it works.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_LIMIT: '100000', THROTTLE_AUTH_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

async function csrfOf(browser: Browser, path: string): Promise<string> {
  const response = await browser.get(path);
  expect(response.status).toBe(200);
  return /name="csrf" value="([^"]+)"/.exec(await response.text())![1];
}

/** An operator who enrolled at the first login, with the password and the app to log in again. */
async function operator(): Promise<{
  browser: Browser;
  id: string;
  password: string;
  app: TotpApp;
}> {
  const account = await register(t, uniqueLogin('operator'));
  await t.em().nativeUpdate(User, { id: account.id }, { isPlatformOperator: true });
  const browser = new Browser(t.url);
  const { app } = await loginEnrolling(browser, account);
  return { browser, id: account.id, password: account.password, app };
}

const newMember = (email: string, roles: string[]) => ({
  email,
  lastName: 'Захватова',
  firstName: 'Вера',
  roles,
});

const reauthPage = (returnTo: string) =>
  `/login?${new URLSearchParams({ returnTo, reauth: '1' }).toString()}`;

describe('a stale session cannot do what only a present administrator may', () => {
  it('a stolen administrator session 11 minutes old cannot add an administrator or archive through the API', async () => {
    const org = await organization(t.em(), 'Лицей № 7', null);
    const admin = await memberBrowser(t, org, ['admin']);
    const colleague = await memberBrowser(t, org, ['moderator']);
    await ageAuthentication(t, admin.user.id);
    const members = `/api/v1/pos/organizations/${org.id}/members`;

    const addAdmin = await admin.browser.postJson(
      members,
      newMember('attacker.admin@example.ru', ['admin']),
    );
    expect(addAdmin.status).toBe(403);
    expect((await json(addAdmin)).code).toBe('reauthentication_required');
    const promote = await patchJson(
      admin.browser,
      `/api/v1/pos/members/${colleague.membership.id}/roles`,
      {
        roles: ['moderator', 'admin'],
      },
    );
    expect(promote.status).toBe(403);
    expect((await json(promote)).code).toBe('reauthentication_required');
    const archive = await admin.browser.postJson(
      `/api/v1/pos/members/${colleague.membership.id}/archive`,
      {},
    );
    expect(archive.status).toBe(403);
    expect((await json(archive)).code).toBe('reauthentication_required');
    expect(await t.em().count(Membership, { email: 'attacker.admin@example.ru' })).toBe(0);
    const kept = await t.em().findOneOrFail(Membership, colleague.membership.id, { refresh: true });
    expect([kept.status, kept.roles]).toEqual([MembershipStatus.Confirmed, ['moderator']]);

    // Everyday work goes on: a member without the administrator role needs nothing more.
    const executor = await admin.browser.postJson(
      members,
      newMember('new.teacher@example.ru', ['executor']),
    );
    expect(executor.status).toBe(201);

    // The administrator, with the password entered again, does it.
    const again = await admin.browser.postJson('/api/v1/auth/reauthenticate', {
      password: STRONG_PASSWORD,
    });
    expect(again.status).toBe(200);
    const archived = await admin.browser.postJson(
      `/api/v1/pos/members/${colleague.membership.id}/archive`,
      {},
    );
    expect(archived.status).toBe(200);
    expect((await json(archived)).status).toBe(MembershipStatus.Archived);
  });

  it('a stolen administrator session 11 minutes old cannot grant the administrator role through the roles form or import members: only a dry run is left to it', async () => {
    const org = await organization(t.em(), 'Школа № 14', null);
    const admin = await memberBrowser(t, org, ['admin']);
    const colleague = await memberBrowser(t, org, ['moderator']);
    const csrf = await csrfOf(admin.browser, `/pos/admin?org=${org.id}`);
    await ageAuthentication(t, admin.user.id);

    const form = new URLSearchParams({ csrf, organizationId: org.id });
    form.append('roles', 'moderator');
    form.append('roles', 'admin');
    const promote = await admin.browser.request(
      `/pos/admin/members/${colleague.membership.id}/edit/roles`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      },
    );
    expect(promote.status).toBe(303);
    expect(Browser.location(promote)).toBe(reauthPage('/pos/admin'));
    const kept = await t.em().findOneOrFail(Membership, colleague.membership.id, { refresh: true });
    expect(kept.roles).toEqual(['moderator']);

    // One line of CSV would make the attacker's address an administrator.
    const csv = Buffer.from(
      'Фамилия;Имя;Отчество;E-mail;СНИЛС;Роли;Организация\r\nЗахватова;Вера;;csv.attacker@example.ru;;Администратор ЛКО;\r\n',
    );
    const importPath = `/api/v1/pos/organizations/${org.id}/members/import`;
    const send = (dryRun: string) =>
      admin.browser.request(`${importPath}?dryRun=${dryRun}`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: csv,
      });
    const imported = await send('false');
    expect(imported.status).toBe(403);
    expect((await json(imported)).code).toBe('reauthentication_required');
    expect(await t.em().count(Membership, { email: 'csv.attacker@example.ru' })).toBe(0);
    expect((await send('true')).status).toBe(200);
    const page = await admin.browser.postForm('/pos/admin/import', {
      csrf,
      organizationId: org.id,
      step: 'import',
      fileName: 'members.csv',
      content: csv.toString('base64'),
    });
    expect(page.status).toBe(303);
    expect(Browser.location(page)).toBe(reauthPage('/pos/admin/import'));
    expect(await t.em().count(Membership, { email: 'csv.attacker@example.ru' })).toBe(0);
  });

  it('a stolen administrator session 11 minutes old cannot add an administrator or archive on the ЛКО page: it is asked for the password and comes back', async () => {
    const org = await organization(t.em(), 'Школа № 12', null);
    const admin = await memberBrowser(t, org, ['admin']);
    const colleague = await memberBrowser(t, org, ['moderator']);
    const csrf = await csrfOf(admin.browser, `/pos/admin?org=${org.id}`);
    await ageAuthentication(t, admin.user.id);

    const add = await admin.browser.postForm('/pos/admin/members', {
      csrf,
      organizationId: org.id,
      email: 'page.attacker@example.ru',
      lastName: 'Захватова',
      firstName: 'Вера',
      roles: 'admin',
    });
    expect(add.status).toBe(303);
    expect(Browser.location(add)).toBe(reauthPage('/pos/admin'));
    const archive = await admin.browser.postForm(
      `/pos/admin/members/${colleague.membership.id}/archive`,
      { csrf, organizationId: org.id },
    );
    expect(Browser.location(archive)).toBe(reauthPage('/pos/admin'));
    expect(await t.em().count(Membership, { email: 'page.attacker@example.ru' })).toBe(0);
    expect(
      (await t.em().findOneOrFail(Membership, colleague.membership.id, { refresh: true })).status,
    ).toBe(MembershipStatus.Confirmed);

    // «Введите пароль ещё раз», then back on the page, where the archive goes through.
    const login = await admin.browser.get(reauthPage('/pos/admin'));
    const loginHtml = await login.text();
    const loginCsrf = /name="csrf" value="([^"]+)"/.exec(loginHtml)![1];
    const again = await admin.browser.postForm('/login', {
      csrf: loginCsrf,
      password: STRONG_PASSWORD,
      returnTo: '/pos/admin',
    });
    expect(Browser.location(again)).toBe('/pos/admin');
    const fresh = await csrfOf(admin.browser, `/pos/admin?org=${org.id}`);
    const archived = await admin.browser.postForm(
      `/pos/admin/members/${colleague.membership.id}/archive`,
      { csrf: fresh, organizationId: org.id },
    );
    expect(Browser.location(archived)).toContain('notice=');
    expect(
      (await t.em().findOneOrFail(Membership, colleague.membership.id, { refresh: true })).status,
    ).toBe(MembershipStatus.Archived);
  });

  it('a stolen operator session 11 minutes old cannot block, archive, reset a second factor, add or remove an operator or invite an administrator', async () => {
    const acting = await operator();
    const second = await operator();
    const person = await register(t, uniqueLogin('teacher'));
    const personBrowser = new Browser(t.url);
    expect(
      (
        await personBrowser.postJson('/api/v1/auth/login', {
          login: person.login,
          password: person.password,
        })
      ).status,
    ).toBe(200);
    await enrolTotp(personBrowser);
    const candidate = await register(t, uniqueLogin('colleague'));
    const org = await organization(t.em(), 'Управление образования района', null);
    const csrf = await csrfOf(acting.browser, '/pos/operator?tab=users');
    await ageAuthentication(t, acting.id);

    const attempts: [string, Record<string, string>][] = [
      [`/pos/operator/users/${person.id}/block`, { csrf, q: person.login }],
      [`/pos/operator/users/${person.id}/archive`, { csrf, q: person.login }],
      [`/pos/operator/users/${person.id}/mfa-reset`, { csrf, q: person.login }],
      ['/pos/operator/operators', { csrf, login: candidate.login }],
      [`/pos/operator/operators/${second.id}/remove`, { csrf }],
      [
        `/pos/operator/organizations/${org.id}/invite`,
        { csrf, email: 'first.admin@example.ru', lastName: 'Первая', firstName: 'Анна' },
      ],
    ];
    for (const [path, form] of attempts) {
      const refused = await acting.browser.postForm(path, form);
      expect({ path, status: refused.status, location: Browser.location(refused) }).toEqual({
        path,
        status: 303,
        location: expect.stringMatching(/^\/login\?returnTo=%2Fpos%2Foperator.*&reauth=1$/),
      });
    }
    const target = await t.em().findOneOrFail(User, person.id, { refresh: true });
    expect(target.status).toBe(UserStatus.Active);
    expect(await t.em().count(MfaCredential, { user: person.id })).toBe(1);
    expect((await t.em().findOneOrFail(User, candidate.id)).isPlatformOperator).toBe(false);
    expect((await t.em().findOneOrFail(User, second.id)).isPlatformOperator).toBe(true);
    expect(await t.em().count(Membership, { email: 'first.admin@example.ru' })).toBe(0);
    // Unblocking and ending sessions harm no one: they need no fresh password.
    const ended = await acting.browser.postForm(`/pos/operator/users/${person.id}/end-sessions`, {
      csrf,
      q: person.login,
    });
    expect(Browser.location(ended)).toContain('notice=sessions_ended');

    // The operator enters the password and a code again; the block goes through.
    const again = await acting.browser.postJson('/api/v1/auth/reauthenticate', {
      password: acting.password,
      code: await acting.app.code(),
    });
    expect(again.status).toBe(200);
    const fresh = await csrfOf(acting.browser, '/pos/operator?tab=users');
    const block = await acting.browser.postForm(`/pos/operator/users/${person.id}/block`, {
      csrf: fresh,
      q: person.login,
    });
    expect(Browser.location(block)).toContain('notice=blocked');
    expect((await t.em().findOneOrFail(User, person.id, { refresh: true })).status).toBe(
      UserStatus.Blocked,
    );
  }, 120_000);
});
