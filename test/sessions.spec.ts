import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { User, UserStatus } from '../src/identity/user.entity.js';
import { Membership, MembershipStatus } from '../src/pos/membership.entity.js';
import { type Organization } from '../src/pos/organization.entity.js';
import { type PosRole } from '../src/pos/roles.js';
import { Session } from '../src/sessions/session.entity.js';
import { secretDigest } from '../src/common/secrets.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { runCli } from './support/cli.js';
import { waitForLockWaiter } from './support/wait.js';
import {
  ALIVE,
  cookiesOf,
  type Device,
  ENDED,
  login,
  register,
  sessionAnswers,
  STRONG_PASSWORD,
  uniqueLogin,
} from './support/http.js';
import { json, memberBrowser, operatorBrowser, organization } from './support/pos.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const ANDROID_CHROME =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

let t: TestApp;
let region: Organization;
let a: Organization;
let belowA: Organization;

beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
  const em = t.em();
  region = await organization(em, 'Министерство (сеансы)', null);
  a = await organization(em, 'Учреждение A (сеансы)', region);
  belowA = await organization(em, 'Филиал учреждения A (сеансы)', a);
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

/** One more device of the same person: a login with its own user agent, a session of its own. */
const device = (account: { login: string; password: string }, userAgent = FIREFOX) =>
  login(t, account, userAgent);

const answers = (d: Device) => sessionAnswers(t, d);

/** `npm run cli -- …` against the test app's database, while the app keeps running. */
const cli = (args: string[]) => runCli(t.database.url, args);

describe('own sessions: GET/DELETE /api/v1/me/sessions', () => {
  it('lists the live sessions with a public id, method, times, IP and user agent, and marks the current one', async () => {
    const account = await register(t);
    const laptop = await device(account, FIREFOX);
    const phone = await device(account, ANDROID_CHROME);
    const ended = await device(account);
    await request(t.http).post('/api/v1/auth/logout').set('Cookie', ended.cookie).expect(204);

    const response = await request(t.http).get('/api/v1/me/sessions').set('Cookie', laptop.cookie);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const listed = response.body as Record<string, unknown>[];
    expect(listed.map((s) => s.id).sort()).toEqual([laptop.sessionId, phone.sessionId].sort());
    const current = listed.find((s) => s.id === laptop.sessionId)!;
    expect(Object.keys(current).sort()).toEqual(
      ['createdAt', 'current', 'id', 'ip', 'lastSeenAt', 'method', 'userAgent'].sort(),
    );
    expect(current).toMatchObject({ current: true, method: 'pwd', userAgent: FIREFOX });
    expect(current.ip).toMatch(/127\.0\.0\.1/);
    expect(new Date(current.createdAt as string).getTime()).toBeLessThanOrEqual(Date.now());
    expect(listed.find((s) => s.id === phone.sessionId)).toMatchObject({
      current: false,
      userAgent: ANDROID_CHROME,
    });
    // Neither the cookie's token nor its stored hash appears in the answer.
    const token = laptop.cookie.split('=')[1];
    expect(response.text).not.toContain(token);
    expect(response.text).not.toContain(secretDigest(token));
    expect(response.text).not.toContain(secretDigest(phone.cookie.split('=')[1]));
  });

  it('ends one session: its cookie, access token and refresh get 401, the current one still works', async () => {
    const account = await register(t);
    const mine = await device(account);
    const lost = await device(account, ANDROID_CHROME);
    expect(await answers(lost)).toEqual(ALIVE);

    const response = await request(t.http)
      .delete(`/api/v1/me/sessions/${lost.sessionId}`)
      .set('Cookie', mine.cookie);
    expect(response.status).toBe(204);

    expect(await answers(lost)).toEqual(ENDED);
    expect(await answers(mine)).toEqual(ALIVE);
    const row = await t.em().findOneOrFail(Session, lost.sessionId);
    expect(row.revokedAt).not.toBeNull();
    expect(row.revokedReason).toBe('ended_by_user');
    const events = await t
      .em()
      .find(AuditEvent, { type: 'session.ended', targetUserId: account.id });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actorUserId: account.id,
      details: { sessionId: lost.sessionId, current: false },
    });
  });

  it('ends every other session and keeps the current one', async () => {
    const account = await register(t);
    const mine = await device(account);
    const others = [await device(account), await device(account, ANDROID_CHROME)];

    const response = await request(t.http).delete('/api/v1/me/sessions').set('Cookie', mine.cookie);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ ended: 2 });

    for (const other of others) expect(await answers(other)).toEqual(ENDED);
    expect(await answers(mine)).toEqual(ALIVE);
    const left = await request(t.http).get('/api/v1/me/sessions').set('Cookie', mine.cookie);
    expect((left.body as { id: string }[]).map((s) => s.id)).toEqual([mine.sessionId]);
    const [event] = await t
      .em()
      .find(AuditEvent, { type: 'session.others_ended', targetUserId: account.id });
    expect(event.details).toMatchObject({
      keptSessionId: mine.sessionId,
      sessionIds: expect.arrayContaining(others.map((o) => o.sessionId)),
    });
  });

  it('ends the current session when asked by its id, and clears its cookie', async () => {
    const account = await register(t);
    const mine = await device(account);
    const response = await request(t.http)
      .delete(`/api/v1/me/sessions/${mine.sessionId}`)
      .set('Cookie', mine.cookie);
    expect(response.status).toBe(204);
    expect(cookiesOf(response).get(t.config.session.cookieName)?.value).toBe('');
    expect(await answers(mine)).toEqual(ENDED);
  });
});

describe('ПОС administrator: a member’s sessions', () => {
  it('lists and ends every session of a member of its organisation or below it, audited', async () => {
    const admin = await memberBrowser(t, a, ['admin']);
    const member = await memberBrowser(t, belowA, ['executor']);
    const second = await device(
      { login: member.user.login, password: STRONG_PASSWORD },
      ANDROID_CHROME,
    );

    const listed = await admin.browser.get(`/api/v1/pos/members/${member.membership.id}/sessions`);
    expect(listed.status).toBe(200);
    const sessions =
      await json<{ id: string; userAgent: string | null; current: boolean }[]>(listed);
    expect(sessions).toHaveLength(2);
    expect(sessions.map((s) => s.id)).toContain(second.sessionId);
    expect(sessions.every((s) => !s.current)).toBe(true);

    const ended = await admin.browser.request(
      `/api/v1/pos/members/${member.membership.id}/sessions`,
      { method: 'DELETE' },
    );
    expect(ended.status).toBe(200);
    expect(await json(ended)).toEqual({ ended: 2 });

    expect((await member.browser.get('/api/v1/me')).status).toBe(401);
    expect(await answers(second)).toEqual(ENDED);
    expect((await admin.browser.get('/api/v1/me')).status).toBe(200);
    const [event] = await t
      .em()
      .find(AuditEvent, { type: 'pos.member.sessions_ended', targetUserId: member.user.id });
    expect(event).toMatchObject({
      actorUserId: admin.user.id,
      organizationId: belowA.id,
      details: {
        membershipId: member.membership.id,
        sessionIds: expect.arrayContaining(sessions.map((s) => s.id)),
      },
    });
  });

  it('answers an empty list for an invitation nobody has accepted yet', async () => {
    const admin = await memberBrowser(t, a, ['admin']);
    const invited = await admin.browser.postJson(`/api/v1/pos/organizations/${a.id}/members`, {
      email: `invited.${Date.now()}@example.ru`,
      lastName: 'Приглашённая',
      firstName: 'Ольга',
      roles: ['executor'],
    });
    expect(invited.status).toBe(201);
    const { id } = await json<{ id: string }>(invited);
    const listed = await admin.browser.get(`/api/v1/pos/members/${id}/sessions`);
    expect(listed.status).toBe(200);
    expect(await json(listed)).toEqual([]);
  });
});

describe('archiving a ПОС membership', () => {
  it('keeps the person’s sessions, but a refreshed access token no longer carries the archived membership', async () => {
    const member = await memberBrowser(t, a, ['moderator']);
    const tokenOf = async () => {
      const response = await member.browser.request('/api/v1/auth/token', { method: 'POST' });
      expect(response.status).toBe(200);
      return decodeJwt((await json<{ accessToken: string }>(response)).accessToken);
    };
    expect((await tokenOf()).memberships).toEqual([
      expect.objectContaining({ organizationId: a.id, status: MembershipStatus.Confirmed }),
    ]);
    const operator = await operatorBrowser(t);
    const archived = await operator.browser.postJson(
      `/api/v1/pos/members/${member.membership.id}/archive`,
      {},
    );
    expect(archived.status).toBe(200);

    expect((await member.browser.get('/api/v1/me')).status).toBe(200);
    expect((await tokenOf()).memberships).toEqual([]);
    expect((await member.browser.get('/api/v1/pos/backoffice/session')).status).toBe(403);
  });
});

describe('the platform operator command line: user:block, user:unblock, user:archive', () => {
  it('user:block ends every session at once: cookie, bearer and refresh are refused right after, and so is a login', async () => {
    const account = await register(t);
    const devices = [await device(account), await device(account, ANDROID_CHROME)];
    for (const d of devices) expect(await answers(d)).toEqual(ALIVE);

    const blocked = await cli(['user:block', '--login', account.login.toUpperCase()]);
    expect(blocked).toMatchObject({ code: 0, err: '' });
    expect(blocked.out).toContain(`blocked ${account.login}: 2 sessions ended`);

    for (const d of devices) expect(await answers(d)).toEqual(ENDED);
    await request(t.http)
      .post('/api/v1/auth/login')
      .send({ login: account.login, password: account.password })
      .expect(401);
    const em = t.em();
    const user = await em.findOneOrFail(User, account.id);
    expect(user.status).toBe(UserStatus.Blocked);
    expect(user.sessionsValidAfter).not.toBeNull();
    expect(await em.count(Session, { user: account.id, revokedAt: null })).toBe(0);
    const [event] = await em.find(AuditEvent, {
      type: 'account.blocked',
      targetUserId: account.id,
    });
    expect(event.details).toMatchObject({
      login: account.login,
      previousStatus: 'active',
      via: 'cli',
      sessionIds: expect.arrayContaining(devices.map((d) => d.sessionId)),
    });

    // Unblocking lets the person log in again; the ended sessions stay ended.
    const unblocked = await cli(['user:unblock', '--login', account.login]);
    expect(unblocked).toMatchObject({ code: 0 });
    expect(unblocked.out).toContain(`unblocked ${account.login}`);
    for (const d of devices) expect(await answers(d)).toEqual(ENDED);
    expect(await answers(await device(account))).toEqual(ALIVE);
    expect(
      await t.em().count(AuditEvent, { type: 'account.unblocked', targetUserId: account.id }),
    ).toBe(1);
  }, 120_000);

  it('user:block does not deadlock with a re-authentication committing its new session', async () => {
    const account = await register(t);
    const old = await device(account);
    // A re-authentication in flight, in its lock order (src/sessions/login-sessions.service.ts): the
    // password row, the old session, then the new session's insert, whose foreign key takes a
    // share lock on the account row.
    const reauth = new pg.Client({ connectionString: t.database.url });
    await reauth.connect();
    try {
      await reauth.query('begin');
      await reauth.query('select id from password_credentials where user_id = $1 for update', [
        account.id,
      ]);
      await reauth.query('select id from sessions where id = $1 for update', [old.sessionId]);
      const blocking = cli(['user:block', '--login', account.login]);
      // The command holds the account and waits for the old session's row.
      await waitForLockWaiter(reauth, 20_000);
      await reauth.query(
        `update sessions set revoked_at = now(), revoked_reason = 'reauthenticated' where id = $1`,
        [old.sessionId],
      );
      await reauth.query(
        `insert into sessions (id, token_hash, user_id, method, authenticated_with, created_at, last_seen_at, authenticated_at, idle_expires_at, absolute_expires_at)
         values (gen_random_uuid(), $1, $2, 'pwd', 'pwd', now(), now(), now(), now() + interval '1 hour', now() + interval '1 day')`,
        [secretDigest(randomBytes(32).toString('base64url')), account.id],
      );
      await reauth.query('commit');
      expect(await blocking).toMatchObject({ code: 0, err: '' });
    } finally {
      await reauth.query('rollback').catch(() => undefined);
      await reauth.end();
    }
    const user = await t.em().findOneOrFail(User, account.id);
    expect(user.status).toBe(UserStatus.Blocked);
    // The session the re-authentication made is not live: its account is blocked.
    expect(await answers(old)).toEqual(ENDED);
  });

  it('user:archive ends every session the same way and refuses the login', async () => {
    const account = await register(t);
    const browser = new Browser(t.url);
    expect(
      (
        await browser.postJson('/api/v1/auth/login', {
          login: account.login,
          password: account.password,
        })
      ).status,
    ).toBe(200);
    const other = await device(account);

    const archived = await cli(['user:archive', '--login', account.login]);
    expect(archived).toMatchObject({ code: 0, err: '' });
    expect(archived.out).toContain(`archived ${account.login}: 2 sessions ended`);

    expect(await answers(other)).toEqual(ENDED);
    expect((await browser.get('/api/v1/me')).status).toBe(401);
    expect((await browser.get('/account')).status).toBe(303);
    await request(t.http)
      .post('/api/v1/auth/login')
      .send({ login: account.login, password: account.password })
      .expect(401);
    expect((await t.em().findOneOrFail(User, account.id)).status).toBe(UserStatus.Archived);
    expect(await t.em().count(Session, { user: account.id, revokedAt: null })).toBe(0);
    expect(
      await t.em().count(AuditEvent, { type: 'account.archived', targetUserId: account.id }),
    ).toBe(1);
  }, 120_000);

  it('refuses an unknown login or a missing --login with a clear error and changes nothing', async () => {
    const events = () => t.em().count(AuditEvent, { type: { $like: 'account.%' } });
    const before = await events();
    const unknown = await cli(['user:block', '--login', 'nobody.at.all']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('user_not_found');
    const missing = await cli(['user:archive']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('не указан обязательный параметр --login');
    expect(await events()).toBe(before);
  }, 120_000);
});

describe('«Личный кабинет»: «Активные сеансы»', () => {
  /** The page's HTML and its form token. */
  async function accountPage(browser: Browser): Promise<{ html: string; csrf: string }> {
    const response = await browser.get('/account');
    expect(response.status).toBe(200);
    const html = await response.text();
    return { html, csrf: /name="csrf" value="([^"]+)"/.exec(html)![1] };
  }

  async function signedIn(account: { login: string; password: string }): Promise<Browser> {
    const browser = new Browser(t.url);
    const response = await browser.postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    expect(response.status).toBe(200);
    return browser;
  }

  it('lists the sessions, marks this one, and «Завершить» ends another', async () => {
    const account = await register(t);
    const browser = await signedIn(account);
    const phone = await device(account, ANDROID_CHROME);

    const { html, csrf } = await accountPage(browser);
    expect(html).toContain('Активные сеансы');
    expect(html).toContain('Этот сеанс');
    expect(html).toContain('Chrome, Android');
    expect(html).toContain(`action="/account/sessions/${phone.sessionId}/end"`);
    expect(html).toContain('Завершить все остальные сеансы');

    const ended = await browser.postForm(`/account/sessions/${phone.sessionId}/end`, { csrf });
    expect(ended.status).toBe(303);
    expect(ended.headers.get('location')).toBe('/account?notice=session_ended#sessions');
    expect(await answers(phone)).toEqual(ENDED);
    const after = await accountPage(browser);
    expect(after.html).not.toContain(phone.sessionId);
    expect((await browser.get('/account?notice=session_ended')).status).toBe(200);
    expect(await (await browser.get('/account?notice=session_ended')).text()).toContain(
      'Сеанс завершён',
    );
  });

  it('«Завершить все остальные сеансы» ends the others and keeps this one', async () => {
    const account = await register(t);
    const browser = await signedIn(account);
    const others = [await device(account), await device(account, ANDROID_CHROME)];
    const { csrf } = await accountPage(browser);

    const response = await browser.postForm('/account/sessions/end-others', { csrf });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/account?notice=other_sessions_ended#sessions');
    for (const other of others) expect(await answers(other)).toEqual(ENDED);
    const { html } = await accountPage(browser);
    expect(html).toContain('Этот сеанс');
    expect(html).not.toContain('Завершить все остальные сеансы');
  });

  it('asks for the password again before ending another session when the login is not recent, then ends it', async () => {
    const account = await register(t);
    const browser = await signedIn(account);
    const phone = await device(account, ANDROID_CHROME);
    const current = await t.em().findOneOrFail(Session, {
      user: account.id,
      id: { $ne: phone.sessionId },
    });
    await t
      .em()
      .nativeUpdate(
        Session,
        { id: current.id },
        { authenticatedAt: new Date(Date.now() - 11 * 60_000) },
      );

    const stale = await accountPage(browser);
    expect(stale.html).toContain('href="/login?reauth=1&amp;returnTo=%2Faccount%23sessions"');
    expect(stale.html).not.toContain(`action="/account/sessions/${phone.sessionId}/end"`);
    expect(stale.html).not.toContain('Завершить все остальные сеансы');
    const refused = await browser.postForm(`/account/sessions/${phone.sessionId}/end`, {
      csrf: stale.csrf,
    });
    expect(refused.status).toBe(403);
    expect(await answers(phone)).toEqual(ALIVE);

    const loginPage = await browser.get('/login?reauth=1&returnTo=%2Faccount%23sessions');
    const loginHtml = await loginPage.text();
    const confirmed = await browser.postForm('/login', {
      csrf: /name="csrf" value="([^"]+)"/.exec(loginHtml)![1],
      returnTo: '/account#sessions',
      password: account.password,
    });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe('/account#sessions');
    const fresh = await accountPage(browser);
    expect(fresh.html).toContain(`action="/account/sessions/${phone.sessionId}/end"`);
    const ended = await browser.postForm(`/account/sessions/${phone.sessionId}/end`, {
      csrf: fresh.csrf,
    });
    expect(ended.status).toBe(303);
    expect(await answers(phone)).toEqual(ENDED);
  });

  it('shows «Сеанс не найден» for a session that is already gone', async () => {
    const account = await register(t);
    const browser = await signedIn(account);
    const { csrf } = await accountPage(browser);
    const response = await browser.postForm(
      '/account/sessions/00000000-0000-4000-8000-000000000000/end',
      { csrf },
    );
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('Сеанс не найден или уже завершён');
  });
});

describe('the access token a password login answers with', () => {
  it('carries the live memberships, oldest first, read with the account; none invited or archived, and a change shows at the next login', async () => {
    const account = await register(t, uniqueLogin('claims'));
    const em = t.em();
    const user = em.getReference(User, account.id);
    const add = (org: Organization, roles: PosRole[], status: MembershipStatus, createdAt: Date) =>
      em.create(Membership, {
        organization: org,
        email: `${account.login}.${status}@example.ru`,
        lastName: 'Токенова',
        firstName: 'Анна',
        roles,
        status,
        user,
        createdAt,
      });
    const confirmed = add(
      a,
      ['moderator'],
      MembershipStatus.Confirmed,
      new Date(Date.now() - 3000),
    );
    add(belowA, ['executor'], MembershipStatus.Registered, new Date(Date.now() - 2000));
    add(region, ['admin'], MembershipStatus.Invited, new Date(Date.now() - 1000));
    add(region, ['coordinator'], MembershipStatus.Archived, new Date());
    await em.flush();

    const inA = {
      organizationId: a.id,
      lkoNumber: String(a.lkoNumber),
      roles: ['moderator'],
      status: 'confirmed',
    };
    const inBelowA = {
      organizationId: belowA.id,
      lkoNumber: String(belowA.lkoNumber),
      roles: ['executor'],
      status: 'registered',
    };
    const first = decodeJwt((await login(t, account)).accessToken);
    expect(first.memberships).toEqual([inA, inBelowA]);

    await em.nativeUpdate(Membership, { id: confirmed.id }, { status: MembershipStatus.Archived });
    const second = decodeJwt((await login(t, account)).accessToken);
    expect(second.memberships).toEqual([inBelowA]);
  });
});
