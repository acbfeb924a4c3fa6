import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { Session } from '../../src/sessions/session.entity.js';
import { Organization } from '../../src/pos/organization.entity.js';
import { Membership, MembershipStatus } from '../../src/pos/membership.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { login, register } from '../support/http.js';
import { json, memberBrowser, organization } from '../support/pos.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Attacks on session management: reaching another person's sessions through the self-service
 * routes, the «Личный кабинет» forms, a stolen access token, and the ПОС administrator routes from
 * outside the member's subtree. Each attack leaves the victim's sessions alive.
 */
let t: TestApp;
let region: Organization;
let a: Organization;
let b: Organization;
let belowA: Organization;

beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
  const em = t.em();
  region = await organization(em, 'Министерство (атаки на сеансы)', null);
  a = await organization(em, 'Учреждение A', region);
  b = await organization(em, 'Учреждение B (соседнее)', region);
  belowA = await organization(em, 'Филиал учреждения A', a);
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

const EVIL = 'https://evil.example';

const device = (account: { login: string; password: string }) => login(t, account);

const alive = async (cookie: string) =>
  (await request(t.http).get('/api/v1/me').set('Cookie', cookie)).status === 200;

const liveSessions = (userId: string) => t.em().count(Session, { user: userId, revokedAt: null });

/** The page's form token. */
async function formToken(browser: Browser): Promise<string> {
  const response = await browser.get('/account');
  expect(response.status).toBe(200);
  return /name="csrf" value="([^"]+)"/.exec(await response.text())![1];
}

describe('another person’s sessions through the self-service routes', () => {
  it('ending another user’s session by its id answers 404 like an unknown id, and ends nothing', async () => {
    const victim = await device(await register(t));
    const attacker = await device(await register(t));
    // The session id is not secret: it is the `sid` of every access token the victim hands out.
    const theirs = await request(t.http)
      .delete(`/api/v1/me/sessions/${victim.sessionId}`)
      .set('Cookie', attacker.cookie);
    const unknown = await request(t.http)
      .delete('/api/v1/me/sessions/00000000-0000-4000-8000-000000000000')
      .set('Cookie', attacker.cookie);
    const garbage = await request(t.http)
      .delete('/api/v1/me/sessions/not-a-session')
      .set('Cookie', attacker.cookie);
    for (const response of [theirs, unknown, garbage]) {
      expect(response.status).toBe(404);
      expect(response.body).toEqual({
        statusCode: 404,
        code: 'session_not_found',
        message: 'Сеанс не найден или уже завершён',
      });
    }
    expect(await alive(victim.cookie)).toBe(true);
    expect(await alive(attacker.cookie)).toBe(true);
  });

  it('another user’s sessions never appear in the caller’s list', async () => {
    const victimAccount = await register(t);
    const victim = await device(victimAccount);
    const attacker = await device(await register(t));
    const listed = await request(t.http).get('/api/v1/me/sessions').set('Cookie', attacker.cookie);
    expect(listed.status).toBe(200);
    expect((listed.body as { id: string }[]).map((s) => s.id)).toEqual([attacker.sessionId]);
    expect(listed.text).not.toContain(victim.sessionId);
  });

  it('a cross-site DELETE with the victim’s cookie is refused and ends nothing', async () => {
    const account = await register(t);
    const victim = await device(account);
    const other = await device(account);
    const response = await request(t.http)
      .delete('/api/v1/me/sessions')
      .set('Cookie', victim.cookie)
      .set('Origin', EVIL)
      .set('Sec-Fetch-Site', 'cross-site');
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('cross_origin_request');
    expect(await alive(other.cookie)).toBe(true);
  });

  it('a stolen access token can neither list nor end the person’s sessions', async () => {
    const account = await register(t);
    const victim = await device(account);
    const other = await device(account);
    const auth = `Bearer ${victim.accessToken}`;
    const attempts = [
      await request(t.http).get('/api/v1/me/sessions').set('Authorization', auth),
      await request(t.http).delete('/api/v1/me/sessions').set('Authorization', auth),
      await request(t.http)
        .delete(`/api/v1/me/sessions/${other.sessionId}`)
        .set('Authorization', auth),
    ];
    for (const response of attempts) {
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('browser_session_required');
      expect(response.text).not.toContain(other.sessionId);
    }
    expect(await liveSessions(account.id)).toBe(2);
  });
});

describe('a stolen session cookie against its owner', () => {
  it('cannot sign the owner out of other devices once its login is older than 10 minutes; the owner, freshly logged in, ends it', async () => {
    const account = await register(t);
    const stolen = await device(account);
    const owner = await device(account);
    await t
      .em()
      .nativeUpdate(
        Session,
        { id: stolen.sessionId },
        { authenticatedAt: new Date(Date.now() - 11 * 60_000) },
      );
    const attempts = [
      await request(t.http).delete('/api/v1/me/sessions').set('Cookie', stolen.cookie),
      await request(t.http)
        .delete(`/api/v1/me/sessions/${owner.sessionId}`)
        .set('Cookie', stolen.cookie),
    ];
    for (const response of attempts) {
      expect(response.status).toBe(403);
      expect(response.body.code).toBe('reauthentication_required');
    }
    expect(await alive(owner.cookie)).toBe(true);

    const ended = await request(t.http)
      .delete(`/api/v1/me/sessions/${stolen.sessionId}`)
      .set('Cookie', owner.cookie);
    expect(ended.status).toBe(204);
    expect(await alive(stolen.cookie)).toBe(false);
    expect(await alive(owner.cookie)).toBe(true);
  });
});

describe('a copy of the session cookie when its owner confirms the password', () => {
  it('is refused afterwards, with its access tokens, while the owner goes on in a new session (fixation after re-authentication)', async () => {
    const account = await register(t);
    const owner = new Browser(t.url);
    const signedIn = await owner.postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    const { accessToken } = (await signedIn.json()) as { accessToken: string };
    // What someone else took from the owner's browser (or planted there) before the password.
    const copied = `il_session=${owner.cookies.get('il_session')!}`;
    expect(await alive(copied)).toBe(true);

    const page = await owner.get('/login?reauth=1&returnTo=%2Faccount');
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1];
    const confirmed = await owner.postForm('/login', {
      csrf,
      password: account.password,
      returnTo: '/account',
    });
    expect(confirmed.status).toBe(303);

    expect(await alive(copied)).toBe(false);
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${accessToken}`)
      .expect(401);
    await request(t.http).post('/api/v1/auth/token').set('Cookie', copied).expect(401);
    // A recent password is exactly what the copy would need to end the owner's other sessions.
    const endOthers = await request(t.http).delete('/api/v1/me/sessions').set('Cookie', copied);
    expect(endOthers.status).toBe(401);
    expect((await owner.get('/api/v1/me')).status).toBe(200);
    expect(await liveSessions(account.id)).toBe(1);
  });
});

describe('forged «Активные сеансы» forms', () => {
  it('a «Завершить все остальные сеансы» with a wrong form token or from another site ends nothing', async () => {
    const account = await register(t);
    const browser = new Browser(t.url);
    await browser.postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    const other = await device(account);
    const forged = await browser.postForm('/account/sessions/end-others', { csrf: 'x'.repeat(43) });
    expect(forged.status).toBe(403);
    const csrf = await formToken(browser);
    const crossSite = await browser.request('/account/sessions/end-others', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: EVIL,
        'sec-fetch-site': 'cross-site',
      },
      body: new URLSearchParams({ csrf }).toString(),
    });
    expect(crossSite.status).toBe(403);
    expect(await alive(other.cookie)).toBe(true);
    expect(await liveSessions(account.id)).toBe(2);
  });

  it('a «Завершить» form naming another user’s session ends nothing', async () => {
    const victim = await device(await register(t));
    const attacker = await register(t);
    const browser = new Browser(t.url);
    await browser.postJson('/api/v1/auth/login', {
      login: attacker.login,
      password: attacker.password,
    });
    const csrf = await formToken(browser);
    const response = await browser.postForm(`/account/sessions/${victim.sessionId}/end`, { csrf });
    expect(response.status).toBe(404);
    expect(await alive(victim.cookie)).toBe(true);
  });
});

describe('a ПОС administrator reaches only the sessions of members within its subtree', () => {
  const endAll = (browser: Browser, membershipId: string) =>
    browser.request(`/api/v1/pos/members/${membershipId}/sessions`, { method: 'DELETE' });

  it('an administrator of a sibling organisation can neither list nor end a member’s sessions', async () => {
    const sibling = await memberBrowser(t, b, ['admin']);
    const member = await memberBrowser(t, a, ['executor']);
    const listed = await sibling.browser.get(
      `/api/v1/pos/members/${member.membership.id}/sessions`,
    );
    const ended = await endAll(sibling.browser, member.membership.id);
    for (const response of [listed, ended]) {
      expect(response.status).toBe(404);
      expect((await json(response)).code).toBe('member_not_found');
    }
    expect((await member.browser.get('/api/v1/me')).status).toBe(200);
  });

  it('an administrator below cannot reach a member of the organisation above it', async () => {
    const below = await memberBrowser(t, belowA, ['admin']);
    const member = await memberBrowser(t, a, ['executor']);
    expect(
      (await below.browser.get(`/api/v1/pos/members/${member.membership.id}/sessions`)).status,
    ).toBe(404);
    expect((await endAll(below.browser, member.membership.id)).status).toBe(404);
    expect((await member.browser.get('/api/v1/me')).status).toBe(200);
  });

  it('a member without the admin role cannot end a colleague’s sessions', async () => {
    const colleague = await memberBrowser(t, a, ['executor', 'moderator']);
    const member = await memberBrowser(t, a, ['executor']);
    const response = await endAll(colleague.browser, member.membership.id);
    expect(response.status).toBe(403);
    expect((await json(response)).code).toBe('role_required');
    expect((await member.browser.get('/api/v1/me')).status).toBe(200);
  });

  it('an administrator of a branch cannot end the sessions of a person who also belongs to an organisation above it', async () => {
    // The person administers A and also holds an account in the branch: the branch administrator
    // reaches that account, but not the person's work at A.
    const branchAdmin = await memberBrowser(t, belowA, ['admin']);
    const person = await memberBrowser(t, a, ['admin']);
    const em = t.em();
    const branchAccount = Object.assign(new Membership(), {
      organization: em.getReference(Organization, belowA.id),
      email: `branch.${person.user.id}@example.ru`,
      lastName: 'Тестова',
      firstName: 'Мария',
      roles: ['executor'],
      status: MembershipStatus.Confirmed,
      user: person.user,
    });
    em.persist(branchAccount);
    await em.flush();

    const listed = await branchAdmin.browser.get(
      `/api/v1/pos/members/${branchAccount.id}/sessions`,
    );
    const ended = await endAll(branchAdmin.browser, branchAccount.id);
    for (const response of [listed, ended]) {
      expect(response.status).toBe(403);
      expect((await json(response)).code).toBe('sessions_out_of_reach');
    }
    expect((await person.browser.get('/api/v1/me')).status).toBe(200);
    // The administrator of A reaches both accounts and may end the person's sessions.
    const aAdmin = await memberBrowser(t, a, ['admin']);
    expect((await endAll(aAdmin.browser, branchAccount.id)).status).toBe(200);
    expect((await person.browser.get('/api/v1/me')).status).toBe(401);
  });

  it('an archived account is out of the administrator’s hands: 409, sessions untouched', async () => {
    const admin = await memberBrowser(t, a, ['admin']);
    const member = await memberBrowser(t, a, ['executor']);
    await t
      .em()
      .nativeUpdate(
        Membership,
        { id: member.membership.id },
        { status: MembershipStatus.Archived, statusBeforeArchive: MembershipStatus.Confirmed },
      );
    const response = await endAll(admin.browser, member.membership.id);
    expect(response.status).toBe(409);
    expect((await json(response)).code).toBe('wrong_status');
    expect((await member.browser.get('/api/v1/me')).status).toBe(200);
  });
});
