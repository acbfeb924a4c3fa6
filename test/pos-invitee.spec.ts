import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { FederatedIdentity } from '../src/identity/federated-identity.entity.js';
import { PasswordCredential } from '../src/identity/password-credential.entity.js';
import { User } from '../src/identity/user.entity.js';
import { MailMessage } from '../src/mail/mail-message.entity.js';
import { Membership, MembershipStatus } from '../src/pos/membership.entity.js';
import { type Organization } from '../src/pos/organization.entity.js';
import { SessionCache } from '../src/sessions/session-cache.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { runCli } from './support/cli.js';
import {
  ageAuthentication as ageAuthenticationOf,
  confirmationState,
  confirmLink,
  forgetStandInSession,
  linkThrough,
  loggedInBrowser,
  throughStandIn,
} from './support/gosuslugi.js';
import { STRONG_PASSWORD, register, uniqueLogin } from './support/http.js';
import { invitee, json, memberBrowser, operatorBrowser, organization } from './support/pos.js';
import { invitationLink, TestSmtp } from './support/smtp.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * One person, one account: an invitation names its person (ФИО, optionally SNILS) and only that
 * person's confirmed Госуслуги profile accepts it; acceptance joins the account the person already
 * has. The stand-in's test persons are the people; 1000000006 is a full namesake of 1000000002
 * with another SNILS, 1000000003 has a simplified (unconfirmed) account.
 */
const smtp = new TestSmtp();
let t: TestApp;
let school: Organization;
let gymnasium: Organization;
let operator: Browser;

beforeAll(async () => {
  await smtp.start();
  t = await startTestApp(
    {
      SMTP_URL: smtp.url,
      THROTTLE_AUTH_LIMIT: '100000',
      THROTTLE_LIMIT: '100000',
      GOSUSLUGI_SCOPES: 'openid fullname snils',
    },
    { listen: true },
  );
  const region = await organization(t.em(), 'Управление образования (тест)', null);
  school = await organization(t.em(), 'МБОУ «Школа № 7»', region);
  gymnasium = await organization(t.em(), 'МАОУ «Гимназия № 8»', region);
  operator = (await operatorBrowser(t)).browser;
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
  await smtp.stop();
});

interface Invited {
  membershipId: string;
  link: string;
}

async function invite(
  org: Organization,
  email: string,
  person: Record<string, string>,
  by: Browser = operator,
): Promise<Invited> {
  const response = await by.postJson(`/api/v1/pos/organizations/${org.id}/members`, {
    email,
    ...person,
    roles: ['executor'],
  });
  expect(response.status).toBe(201);
  return {
    membershipId: (await json<{ id: string }>(response)).id,
    link: new URL(invitationLink(await smtp.waitFor(email))).pathname,
  };
}

/** Follows the link from a browser as the test person `oid` and returns the callback's answer. */
async function acceptAs(browser: Browser, link: string, oid: number): Promise<Response> {
  const response = await browser.get(await throughStandIn(browser, `${link}/accept`, oid));
  forgetStandInSession(browser);
  return response;
}

const membership = (id: string) =>
  t.em().findOneOrFail(Membership, id, { populate: ['user'], refresh: true });
const users = () => t.em().count(User, {});
const identitiesOf = (oid: number) => t.em().count(FederatedIdentity, { subject: String(oid) });

const ageAuthentication = (userId: string) => ageAuthenticationOf(t, userId);

describe('ПОС invitations: only the invited person accepts', () => {
  it('an invitation for A accepted with B’s profile (other name; same name, other SNILS; unconfirmed account) is refused, nothing bound, the admin sees the attempt; A then accepts', async () => {
    const petrov = { ...invitee(1000000002), snils: '000-000-002 02' };
    const invited = await invite(school, 'petrov.teacher@school7.example', petrov);
    const usersBefore = await users();

    // Another person: other name.
    const other = await acceptAs(new Browser(t.url), invited.link, 1000000005);
    expect(other.status).toBe(403);
    const otherPage = await other.text();
    expect(otherPage).toContain('Данные профиля Госуслуг не совпадают с приглашением');
    expect(otherPage).toContain('МБОУ «Школа № 7»');
    // A full namesake: the SNILS tells them apart.
    const namesake = await acceptAs(new Browser(t.url), invited.link, 1000000006);
    expect(namesake.status).toBe(403);
    expect(await namesake.text()).toContain('Данные профиля Госуслуг не совпадают с приглашением');

    // Nothing was bound or created by either attempt.
    const untouched = await membership(invited.membershipId);
    expect(untouched.status).toBe(MembershipStatus.Invited);
    expect(untouched.user).toBeNull();
    expect(untouched.mismatchAt).not.toBeNull();
    expect(await users()).toBe(usersBefore);
    expect(await identitiesOf(1000000005)).toBe(0);
    expect(await identitiesOf(1000000006)).toBe(0);
    const attempts = await t
      .em()
      .find(AuditEvent, { type: 'pos.invitation.mismatch', organizationId: school.id });
    expect(attempts.map((event) => event.details)).toEqual([
      { membershipId: invited.membershipId, reason: 'profile_mismatch' },
      { membershipId: invited.membershipId, reason: 'profile_mismatch' },
    ]);

    // The administrator's list says so, in the API and on the page.
    const { items: listed } = await json<{
      items: { id: string; mismatchAt: string | null; snilsLast3: string }[];
    }>(await operator.get(`/api/v1/pos/organizations/${school.id}/members`));
    const row = listed.find((m) => m.id === invited.membershipId)!;
    expect(row.mismatchAt).not.toBeNull();
    expect(row.snilsLast3).toBe('202');
    expect(JSON.stringify(listed)).not.toContain('snilsDigest');
    const page = await (await operator.get(`/pos/admin?org=${school.id}&tab=members`)).text();
    expect(page).toContain('Попытка принять приглашение другим профилем Госуслуг');

    // The invited person accepts; the list shows the ФИО Госуслуги gave.
    const accepted = await acceptAs(new Browser(t.url), invited.link, 1000000002);
    expect(accepted.status).toBe(303);
    expect(Browser.location(accepted)).toBe('/pos');
    const bound = await membership(invited.membershipId);
    expect(bound.status).toBe(MembershipStatus.Registered);
    expect(bound.acceptedName).toBe('Петров Алексей Игоревич');
    const { items: after } = await json<{ items: { id: string; acceptedName: string | null }[] }>(
      await operator.get(`/api/v1/pos/organizations/${school.id}/members`),
    );
    expect(after.find((m) => m.id === invited.membershipId)!.acceptedName).toBe(
      'Петров Алексей Игоревич',
    );
  });

  it('refuses a simplified (unconfirmed) Госуслуги account, whatever its name', async () => {
    const invited = await invite(school, 'smirnova@school7.example', invitee(1000000003));
    const refused = await acceptAs(new Browser(t.url), invited.link, 1000000003);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Нужна подтверждённая учётная запись Госуслуг');
    expect((await membership(invited.membershipId)).user).toBeNull();
    expect(await identitiesOf(1000000003)).toBe(0);
  });

  it('compares names after case folding and ё → е', async () => {
    const invited = await invite(gymnasium, 'fedorov@gymnasium8.example', {
      lastName: 'ФЕДОРОВ',
      firstName: 'илья',
      middleName: 'Сергеевич',
    });
    expect((await acceptAs(new Browser(t.url), invited.link, 1000000008)).status).toBe(303);
    expect((await membership(invited.membershipId)).acceptedName).toBe('Фёдоров Илья Сергеевич');
  });

  it('refuses a SNILS with a wrong check number', async () => {
    const wrong = await operator.postJson(`/api/v1/pos/organizations/${school.id}/members`, {
      email: 'wrong.snils@school7.example',
      ...invitee(1000000005),
      snils: '112-233-445 96',
      roles: ['executor'],
    });
    expect(wrong.status).toBe(422);
    expect(
      (await json<{ errors: Record<string, { code: string }[]> }>(wrong)).errors.snils[0].code,
    ).toBe('invalid_snils');
  });
});

describe('ПОС invitations: acceptance joins the account the person already has', () => {
  it('a signed-in ЭПОС user accepts into the same account (re-authentication asked when stale); no second account', async () => {
    const novikova = invitee(1000000007);
    const invited = await invite(school, 'novikova@school7.example', novikova);
    const account = await loggedInBrowser(t);
    const usersBefore = await users();

    const landing = await account.browser.get(invited.link);
    const html = await landing.text();
    expect(html).toContain('Принять в эту учётную запись');
    expect(html).toContain('Это не я');
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];

    // Without choosing, a signed-in person is sent back to choose.
    const unchosen = await account.browser.postForm(`${invited.link}/accept`, { csrf });
    expect(Browser.location(unchosen)).toBe(invited.link);

    // The password was entered too long ago: enter it again first.
    await ageAuthentication(account.id);
    const stale = await account.browser.postForm(`${invited.link}/accept`, {
      csrf,
      into: 'account',
    });
    expect(stale.status).toBe(303);
    const relogin = new URL(Browser.location(stale), t.url);
    expect(relogin.pathname).toBe('/login');
    expect(relogin.searchParams.get('reauth')).toBe('1');
    expect(relogin.searchParams.get('returnTo')).toBe(invited.link);
    expect(
      (
        await account.browser.postJson('/api/v1/auth/reauthenticate', {
          password: account.password,
        })
      ).status,
    ).toBe(200);

    const fresh = await account.browser.postForm(`${invited.link}/accept`, {
      csrf,
      into: 'account',
    });
    expect(fresh.status).toBe(303);
    const callback = await throughStandIn(account.browser, Browser.location(fresh), 1000000007);
    const done = await account.browser.get(callback);
    expect(done.status).toBe(303);
    expect(Browser.location(done)).toBe('/pos');

    expect(await users()).toBe(usersBefore);
    const bound = await membership(invited.membershipId);
    expect(bound.user!.id).toBe(account.id);
    const linked = await t.em().findOneOrFail(FederatedIdentity, { subject: '1000000007' });
    expect(linked.user.id).toBe(account.id);
    // The password still works, and so does Госуслуги now.
    const byPassword = await new Browser(t.url).postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    expect(byPassword.status).toBe(200);
    const me = await json<{ identities: { provider: string }[] }>(
      await account.browser.get('/api/v1/me'),
    );
    expect(me.identities.map((i) => i.provider)).toEqual(['gosuslugi']);
  });

  it('a user whose Госуслуги identity is linked gets the membership on that account, from any browser', async () => {
    const existing = await loggedInBrowser(t);
    expect((await linkThrough(existing.browser, 1000000004)).status).toBe(303);
    forgetStandInSession(existing.browser);
    const invited = await invite(gymnasium, 'kuznetsov@gymnasium8.example', invitee(1000000004));
    const usersBefore = await users();
    expect((await acceptAs(new Browser(t.url), invited.link, 1000000004)).status).toBe(303);
    expect((await membership(invited.membershipId)).user!.id).toBe(existing.id);
    expect(await users()).toBe(usersBefore);
  });

  it('«Это не я» logs the browser out and comes back to the invitation', async () => {
    const invited = await invite(gymnasium, 'not.me@gymnasium8.example', invitee(1000000001));
    const someone = await loggedInBrowser(t);
    const html = await (await someone.browser.get(invited.link)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
    const out = await someone.browser.postForm('/logout', { csrf, returnTo: invited.link });
    expect(out.status).toBe(303);
    expect(Browser.location(out)).toBe(invited.link);
    expect((await someone.browser.get('/api/v1/me')).status).toBe(401);
    const again = await (await someone.browser.get(invited.link)).text();
    expect(again).not.toContain('Принять в эту учётную запись');
    expect(again).toContain('Войти через Госуслуги');
  });

  it('the invitation address verified in another account: refused, that account is to be used, nothing created', async () => {
    const holder = await register(t, uniqueLogin('holder'));
    await t.em().nativeUpdate(User, { id: holder.id }, { email: 'sokolova@gymnasium8.example' });
    const invited = await invite(gymnasium, 'sokolova@gymnasium8.example', invitee(1000000005));
    const usersBefore = await users();
    const refused = await acceptAs(new Browser(t.url), invited.link, 1000000005);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('У вас уже есть учётная запись');
    expect(await users()).toBe(usersBefore);
    expect((await membership(invited.membershipId)).status).toBe(MembershipStatus.Invited);
  });
});

describe('ПОС invitations: an account made by acceptance is a whole account', () => {
  it('has the invitation address verified, a readable login, the ФИО, and can set a password and then unlink', async () => {
    const invited = await invite(
      gymnasium,
      'maria.ivanova@gymnasium8.example',
      invitee(1000000001),
    );
    const browser = new Browser(t.url);
    expect((await acceptAs(browser, invited.link, 1000000001)).status).toBe(303);
    const user = (await membership(invited.membershipId)).user!;
    expect(user.login).toBe('maria.ivanova');
    expect(user.email).toBe('maria.ivanova@gymnasium8.example');
    expect([user.lastName, user.firstName, user.middleName]).toEqual([
      'Иванова',
      'Мария',
      'Сергеевна',
    ]);
    const verified = await t
      .em()
      .find(AuditEvent, { type: 'email.verified', targetUserId: user.id });
    expect(verified.map((event) => event.details.source)).toEqual(['invitation']);

    // The header names the person; «Личный кабинет» offers a password.
    const cabinet = await (await browser.get('/account')).text();
    expect(cabinet).toContain('Иванова Мария Сергеевна');
    expect(cabinet).toContain('Задать пароль');
    const csrf = /name="csrf" value="([^"]+)"/.exec(cabinet)![1];

    // Unlinking first is refused: it is the only way in.
    const early = await browser.postForm('/account/gosuslugi/unlink', { csrf });
    expect(early.status).toBe(409);

    const set = await browser.postForm('/account', {
      csrf,
      phone: '',
      email: 'maria.ivanova@gymnasium8.example',
      password: STRONG_PASSWORD,
      passwordRepeat: STRONG_PASSWORD,
    });
    expect(set.status).toBe(303);
    expect(Browser.location(set)).toBe('/account?notice=password_set');
    expect(await t.em().count(PasswordCredential, { user: user.id })).toBe(1);
    expect(await t.em().count(AuditEvent, { type: 'password.set', targetUserId: user.id })).toBe(1);

    const unlinked = await browser.postForm('/account/gosuslugi/unlink', { csrf });
    expect(unlinked.status).toBe(303);
    expect(await identitiesOf(1000000001)).toBe(0);
    const byPassword = await new Browser(t.url).postJson('/api/v1/auth/login', {
      login: 'maria.ivanova',
      password: STRONG_PASSWORD,
    });
    expect(byPassword.status).toBe(200);
  });

  it('a first password needs a recent login, and the API sets it without a current password', async () => {
    const invited = await invite(school, 'first.password@school7.example', invitee(1000000008));
    // Фёдоров is linked already (an earlier test): this acceptance joins that account.
    const browser = new Browser(t.url);
    expect((await acceptAs(browser, invited.link, 1000000008)).status).toBe(303);
    const user = (await membership(invited.membershipId)).user!;
    await ageAuthentication(user.id);
    const stale = await browser.postJson('/api/v1/me/password', {
      newPassword: STRONG_PASSWORD,
      newPasswordRepeat: STRONG_PASSWORD,
    });
    expect(stale.status).toBe(403);
    expect((await json(stale)).code).toBe('reauthentication_required');
    expect(await t.em().count(PasswordCredential, { user: user.id })).toBe(0);
  });
});

describe('ПОС invitations: what an administrator sees of a member’s sessions', () => {
  it('the admin sees no IP or user agent of a member’s sessions; ending them still works', async () => {
    const admin = await memberBrowser(t, school, ['admin']);
    const member = await memberBrowser(t, school, ['executor']);
    const listed = await json<Record<string, unknown>[]>(
      await admin.browser.get(`/api/v1/pos/members/${member.membership.id}/sessions`),
    );
    expect(listed.length).toBeGreaterThan(0);
    for (const session of listed) {
      expect(session.ip).toBeNull();
      expect(session.userAgent).toBeNull();
      expect(typeof session.createdAt).toBe('string');
      expect(typeof session.lastSeenAt).toBe('string');
    }
    const page = await (
      await admin.browser.get(`/pos/admin/members/${member.membership.id}/sessions`)
    ).text();
    expect(page).not.toContain('127.0.0.1');
    expect(page).toContain('Сеанс 1');

    // A platform operator sees them, and that is audited.
    const seen = await json<{ ip: string | null }[]>(
      await operator.get(`/api/v1/pos/members/${member.membership.id}/sessions`),
    );
    expect(seen.some((session) => session.ip !== null)).toBe(true);
    expect(
      await t.em().count(AuditEvent, {
        type: 'pos.member.sessions_viewed',
        targetUserId: member.user.id,
      }),
    ).toBe(1);

    const ended = await admin.browser.request(
      `/api/v1/pos/members/${member.membership.id}/sessions`,
      { method: 'DELETE' },
    );
    expect(ended.status).toBe(200);
    expect((await json<{ ended: number }>(ended)).ended).toBeGreaterThan(0);
    expect((await member.browser.get('/api/v1/me')).status).toBe(401);
  });
});

describe('ПОС invitations: races get the right answer', () => {
  it('the concurrent acceptance of two organisations’ invitations by one new person: both succeed, never already_member', async () => {
    for (let round = 1; round <= 3; round++) {
      const first = await invite(school, `race${round}.a@school7.example`, invitee(1000000007));
      const second = await invite(
        gymnasium,
        `race${round}.b@gymnasium8.example`,
        invitee(1000000007),
      );
      // Novikova is a new person in every round: her account of the earlier round is gone.
      const previous = await t.em().findOne(FederatedIdentity, { subject: '1000000007' });
      if (previous) {
        await t
          .em()
          .nativeUpdate(
            Membership,
            { user: previous.user.id },
            { user: null, status: MembershipStatus.Archived },
          );
        await t.em().nativeDelete(FederatedIdentity, { id: previous.id });
      }
      const one = new Browser(t.url);
      const two = new Browser(t.url);
      const callbacks = [
        await throughStandIn(one, `${first.link}/accept`, 1000000007),
        await throughStandIn(two, `${second.link}/accept`, 1000000007),
      ];
      const answers = await Promise.all([one.get(callbacks[0]), two.get(callbacks[1])]);
      expect(answers.map((answer) => answer.status)).toEqual([303, 303]);
      const [a, b] = [await membership(first.membershipId), await membership(second.membershipId)];
      expect(a.status).toBe(MembershipStatus.Registered);
      expect(a.user!.id).toBe(b.user!.id);
    }
    const refused = await t.em().find(AuditEvent, { type: 'pos.invitation.refused' });
    expect(refused.map((event) => event.details.reason)).not.toContain('already_member');
  });
});

describe('linking: two confirmations of one link', () => {
  it('two devices of one account confirming the same Госуслуги profile write one audit event and one notice', async () => {
    const account = await register(t, uniqueLogin('twotabs'));
    const address = `${account.login}@example.ru`;
    await t.em().nativeUpdate(User, { id: account.id }, { email: address });
    const devices = [new Browser(t.url), new Browser(t.url)];
    const states: string[] = [];
    for (const device of devices) {
      expect(
        (
          await device.postJson('/api/v1/auth/login', {
            login: account.login,
            password: account.password,
          })
        ).status,
      ).toBe(200);
      const callback = await device.get(
        await throughStandIn(device, '/auth/gosuslugi/link', 1000000003),
      );
      states.push((await confirmationState(device, callback))!);
      forgetStandInSession(device);
    }
    const answers = await Promise.all(devices.map((device, i) => confirmLink(device, states[i])));
    expect(answers.map((answer) => answer.status)).toEqual([303, 303]);
    expect(await t.em().count(FederatedIdentity, { user: account.id })).toBe(1);
    expect(
      await t.em().count(AuditEvent, { type: 'gosuslugi.linked', targetUserId: account.id }),
    ).toBe(1);
    expect(await t.em().count(MailMessage, { to: address })).toBe(1);
  });
});

describe('operator:create --promote', () => {
  it('--promote on a squatted, linked login is refused; with --reset-credentials the attacker’s link and password no longer work', async () => {
    // The attacker registers the login the region will promote and links their own Госуслуги.
    const squatter = await register(t, 'operator.region');
    const attacker = new Browser(t.url);
    expect(
      (
        await attacker.postJson('/api/v1/auth/login', {
          login: squatter.login,
          password: squatter.password,
        })
      ).status,
    ).toBe(200);
    expect((await linkThrough(attacker, 1000000005)).status).toBe(303);
    forgetStandInSession(attacker);

    const refused = await runCli(t.database.url, [
      'operator:create',
      '--login',
      'operator.region',
      '--promote',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('promotion_refused');
    expect(refused.err).toContain('к ней привязан профиль Госуслуг');
    const still = await t.em().findOneOrFail(User, squatter.id, { refresh: true });
    expect(still.isPlatformOperator).toBe(false);
    expect(await t.em().count(AuditEvent, { type: 'pos.operator.promotion_refused' })).toBe(1);

    const reset = await runCli(t.database.url, [
      'operator:create',
      '--login',
      'operator.region',
      '--promote',
      '--reset-credentials',
    ]);
    expect(reset.code).toBe(0);
    expect(reset.out).toContain(
      'removed from operator.region: linked identities [gosuslugi 1000000005]',
    );
    expect(reset.out).toContain('password yes');
    const promoted = await t.em().findOneOrFail(User, squatter.id, { refresh: true });
    expect(promoted.isPlatformOperator).toBe(true);
    t.app.get(SessionCache).invalidateUser(squatter.id);

    // The attacker's session, password and Госуслуги no longer get in.
    expect((await attacker.get('/api/v1/me')).status).toBe(401);
    expect(
      (
        await new Browser(t.url).postJson('/api/v1/auth/login', {
          login: squatter.login,
          password: squatter.password,
        })
      ).status,
    ).toBe(401);
    const viaGosuslugi = new Browser(t.url);
    const callback = await viaGosuslugi.get(
      await throughStandIn(viaGosuslugi, '/auth/gosuslugi/login', 1000000005),
    );
    expect(callback.status).toBe(403);
    expect(await callback.text()).toContain('Профиль Госуслуг не привязан');
    expect(await identitiesOf(1000000005)).toBe(0);
  }, 120_000);
});

describe('cross-site starts do nothing', () => {
  it('cross-site /accept and a cross-site Госуслуги login start: no provider trip, no account switch', async () => {
    const invited = await invite(school, 'cross.site@school7.example', invitee(1000000002));
    const victim = await loggedInBrowser(t);
    const lured = await victim.browser.request(`${invited.link}/accept`, {
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(Browser.location(lured)).toBe(invited.link);
    const loginLure = await victim.browser.request('/auth/gosuslugi/login?returnTo=/pos', {
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(Browser.location(loginLure)).toBe('/login?returnTo=%2Fpos');
    // Still the same account, nothing bound.
    const me = await json<{ id: string }>(await victim.browser.get('/api/v1/me'));
    expect(me.id).toBe(victim.id);
    expect((await membership(invited.membershipId)).user).toBeNull();
    // A forged post with the victim's own token is refused too.
    const html = await (await victim.browser.get(invited.link)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
    const forged = await victim.browser.postFormCrossSite(`${invited.link}/accept`, {
      csrf,
      into: 'account',
    });
    expect(forged.status).toBe(403);
  });
});
