import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import request from 'supertest';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { PasswordCredential } from '../src/identity/password-credential.entity.js';
import { PasswordHasher } from '../src/identity/password-hasher.service.js';
import { User, UserStatus } from '../src/identity/user.entity.js';
import { LoginFailure } from '../src/sessions/login-failure.entity.js';
import { AuthMethod, Session } from '../src/sessions/session.entity.js';
import { secretDigest } from '../src/common/secrets.js';
import { startTestApp, type TestApp } from './support/app.js';
import { cookiesOf, login, register, STRONG_PASSWORD, uniqueLogin } from './support/http.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/** supertest's loopback address, as the pair lock keys it. */
const TEST_ADDRESS = '127.0.0.1';
const pairOf = (userId: string) =>
  t.em().findOneOrFail(LoginFailure, { credential: { user: userId }, address: TEST_ADDRESS });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let t: TestApp;
beforeAll(async () => {
  // A small lockout so it engages and releases within the test: 3 failures → 1 s, capped at 2 s.
  // Per-IP throttling has its own spec (throttling.spec.ts); here every request comes from one IP.
  t = await startTestApp({
    LOCKOUT_FAILURE_FACTOR: '3',
    LOCKOUT_WAIT_INCREMENT: '1s',
    LOCKOUT_MAX_WAIT: '2s',
    THROTTLE_AUTH_LIMIT: '100000',
    THROTTLE_LIMIT: '100000',
  });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

const attempt = ({ login, password }: { login: string; password: string }) =>
  request(t.http).post('/api/v1/auth/login').send({ login, password });

describe('login failures are indistinguishable', () => {
  it('gives the same status and body for a wrong password, an unknown login, a blocked, a locked and a slowed account', async () => {
    const wrong = await register(t);
    const blocked = await register(t);
    await t.em().nativeUpdate(User, { id: blocked.id }, { status: UserStatus.Blocked });
    // Locked for this address (the pair lock), and slowed for every address (account-wide).
    const locked = await register(t);
    const em = t.em();
    const lockedCredential = await em.findOneOrFail(PasswordCredential, { user: locked.id });
    const pair = new LoginFailure(lockedCredential, TEST_ADDRESS);
    pair.lockedUntil = new Date(Date.now() + 60_000);
    await em.persist(pair).flush();
    const slowed = await register(t);
    await t
      .em()
      .nativeUpdate(
        PasswordCredential,
        { user: slowed.id },
        { lockedUntil: new Date(Date.now() + 60_000) },
      );

    const responses = [
      await attempt({ login: wrong.login, password: 'Wrong#Password1' }),
      await attempt({ login: uniqueLogin('nobody'), password: STRONG_PASSWORD }),
      await attempt({ login: blocked.login, password: blocked.password }),
      await attempt({ login: locked.login, password: locked.password }),
      await attempt({ login: slowed.login, password: slowed.password }),
    ];
    for (const response of responses) {
      expect(response.status).toBe(401);
      expect(response.body).toEqual({
        statusCode: 401,
        code: 'invalid_credentials',
        message: 'Неверный логин или пароль',
      });
      expect(response.headers['set-cookie']).toBeUndefined();
    }
    const reasons = (await t.em().find(AuditEvent, { type: 'login.failed' })).map(
      (event) => event.details.reason,
    );
    expect(reasons).toEqual(
      expect.arrayContaining(['wrong_password', 'unknown_login', 'blocked', 'locked', 'slowed']),
    );
  });

  it('spends one argon2 verification on an unknown login, as on a known one', async () => {
    const hasher = t.app.get(PasswordHasher);
    const before = hasher.operations;
    await attempt({ login: uniqueLogin('ghost'), password: STRONG_PASSWORD }).expect(401);
    expect(hasher.operations - before).toBe(1);
    const known = await register(t);
    const beforeKnown = hasher.operations;
    await attempt({ login: known.login, password: 'Wrong#Password1' }).expect(401);
    expect(hasher.operations - beforeKnown).toBe(1);
  });

  it('does not apply composition rules at login', async () => {
    const response = await attempt({ login: uniqueLogin(), password: 'short' });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('invalid_credentials');
  });
});

describe('lockout', () => {
  it('engages after the configured failures, refuses the right password while locked, and releases after the wait', async () => {
    const account = await register(t);
    for (let i = 0; i < 3; i++)
      await attempt({ login: account.login, password: `Wrong#Password${i}` }).expect(401);

    // The lock is on this (account, address) pair; the account-wide count only slows, later.
    const pair = await pairOf(account.id);
    expect(pair.failureCount).toBe(3);
    expect(pair.lockedUntil!.getTime()).toBeGreaterThan(Date.now());
    const credential = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
    expect(credential).toMatchObject({ failureCount: 3, lockedUntil: null });
    expect(
      await t.em().count(AuditEvent, { type: 'login.locked_out', targetUserId: account.id }),
    ).toBe(1);

    await attempt(account).expect(401);
    await sleep(pair.lockedUntil!.getTime() - Date.now() + 100);
    await attempt(account).expect(200);
    const reset = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
    expect(reset).toMatchObject({ failureCount: 0, lockedUntil: null });
    expect(await t.em().count(LoginFailure, { credential: reset.id })).toBe(0);
  });

  it('does not extend the lockout with attempts made while locked', async () => {
    const account = await register(t);
    for (let i = 0; i < 3; i++)
      await attempt({ login: account.login, password: `Wrong#Password${i}` }).expect(401);
    const { lockedUntil } = await pairOf(account.id);
    for (let i = 0; i < 3; i++)
      await attempt({ login: account.login, password: `Wrong#Again${i}` }).expect(401);
    const after = await pairOf(account.id);
    expect(after.lockedUntil).toEqual(lockedUntil);
    expect(after.failureCount).toBe(3);
    const credential = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
    expect(credential.failureCount).toBe(3);
  });

  it('counts concurrent wrong guesses without losing any', async () => {
    const account = await register(t);
    await Promise.all(
      [0, 1].map((i) => attempt({ login: account.login, password: `Parallel#Wrong${i}` })),
    );
    const credential = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
    expect(credential.failureCount).toBe(2);
    expect((await pairOf(account.id)).failureCount).toBe(2);
  });
});

describe('what a login writes', () => {
  it('a session with the client, the failures cleared, and login.succeeded naming the session', async () => {
    const account = await register(t);
    await attempt({ login: account.login, password: 'Wrong#Password1' }).expect(401);
    const response = await request(t.http)
      .post('/api/v1/auth/login')
      .set('User-Agent', 'Dnevnik/3.1 (test)')
      .send({ login: account.login, password: account.password })
      .expect(200);
    const token = cookiesOf(response).get('il_session')!.value;
    const em = t.em();
    const session = await em.findOneOrFail(Session, { tokenHash: secretDigest(token) });
    expect(session).toMatchObject({
      method: AuthMethod.Password,
      userAgent: 'Dnevnik/3.1 (test)',
      revokedAt: null,
    });
    expect(session.ip).toMatch(/127\.0\.0\.1/);
    expect(session.user.id).toBe(account.id);
    expect(session.idleExpiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(decodeJwt(response.body.accessToken as string).sid).toBe(session.id);
    const credential = await em.findOneOrFail(PasswordCredential, { user: account.id });
    expect(credential).toMatchObject({ failureCount: 0, lastFailureAt: null, lockedUntil: null });
    const audited = await em.find(AuditEvent, {
      type: 'login.succeeded',
      targetUserId: account.id,
    });
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({
      actorUserId: account.id,
      userAgent: 'Dnevnik/3.1 (test)',
      details: { method: 'pwd', sessionId: session.id },
    });
    expect(audited[0].requestId).toBeTruthy();
  });
});

describe('session cookie', () => {
  it('is HttpOnly, SameSite=Lax, path / and carries a 256-bit token stored only as a hash', async () => {
    const account = await register(t);
    const { response } = await login(t, account);
    const cookie = cookiesOf(response).get('il_session')!;
    expect(cookie.attributes).toEqual(
      expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/']),
    );
    expect(Buffer.from(cookie.value, 'base64url')).toHaveLength(32);
    const sessions = await t.em().find(Session, { user: account.id });
    expect(sessions).toHaveLength(1);
    expect(sessions[0].tokenHash).toBe(secretDigest(cookie.value));
    expect(sessions[0].tokenHash).not.toContain(cookie.value);
  });

  it('gets a new session id on every login; the session the browser had before ends (fixation)', async () => {
    const account = await register(t);
    const first = await login(t, account);
    const second = await request(t.http)
      .post('/api/v1/auth/login')
      .set('Cookie', first.cookie)
      .send({ login: account.login, password: account.password });
    expect(second.status).toBe(200);
    const renewed = cookiesOf(second).get('il_session')!.value;
    expect(`il_session=${renewed}`).not.toBe(first.cookie);
    await request(t.http).get('/api/v1/me').set('Cookie', first.cookie).expect(401);
    await request(t.http).get('/api/v1/me').set('Cookie', `il_session=${renewed}`).expect(200);
  });

  it('ignores a session token planted by an attacker: it never becomes a session', async () => {
    const planted = 'A'.repeat(43);
    const account = await register(t);
    const response = await request(t.http)
      .post('/api/v1/auth/login')
      .set('Cookie', `il_session=${planted}`)
      .send({ login: account.login, password: account.password });
    expect(cookiesOf(response).get('il_session')!.value).not.toBe(planted);
    await request(t.http).get('/api/v1/me').set('Cookie', `il_session=${planted}`).expect(401);
  });
});

describe('re-authentication: a new session token, the old one ended (ASVS 7.2.4)', () => {
  const reauthenticate = (cookie: string, password: string) =>
    request(t.http).post('/api/v1/auth/reauthenticate').set('Cookie', cookie).send({ password });

  it('issues a new session cookie and access token for the same user and method, and ends the old session', async () => {
    const account = await register(t);
    const before = await login(t, account);
    const response = await reauthenticate(before.cookie, account.password);
    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toEqual({
      accessToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: expect.any(Number),
    });
    const renewed = cookiesOf(response).get('il_session')!;
    expect(renewed.attributes).toEqual(
      expect.arrayContaining(['HttpOnly', 'SameSite=Lax', 'Path=/']),
    );
    const cookie = `il_session=${renewed.value}`;
    expect(cookie).not.toBe(before.cookie);
    const claims = decodeJwt(response.body.accessToken as string);
    expect(claims.sid).not.toBe(before.sessionId);
    expect(claims.sub).toBe(account.id);
    expect(claims.amr).toEqual([AuthMethod.Password]);

    const me = await request(t.http).get('/api/v1/me').set('Cookie', cookie).expect(200);
    expect(me.body.id).toBe(account.id);
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${response.body.accessToken}`)
      .expect(200);

    const old = await t.em().findOneOrFail(Session, before.sessionId);
    expect(old.revokedAt).not.toBeNull();
    expect(old.revokedReason).toBe('reauthenticated');
    const live = await t.em().find(Session, { user: account.id, revokedAt: null });
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({
      id: claims.sid,
      tokenHash: secretDigest(renewed.value),
      method: AuthMethod.Password,
    });
    expect(Date.now() - live[0].authenticatedAt.getTime()).toBeLessThan(60_000);
    const event = await t
      .em()
      .findOneOrFail(AuditEvent, { type: 'reauthenticated', targetUserId: account.id });
    expect(event.details).toEqual({ sessionId: claims.sid, previousSessionId: before.sessionId });
  });

  it('refuses the cookie and the access tokens of the session that re-authenticated (fixation after re-authentication)', async () => {
    const account = await register(t);
    const before = await login(t, account);
    expect((await reauthenticate(before.cookie, account.password)).status).toBe(200);

    const byCookie = await request(t.http).get('/api/v1/me').set('Cookie', before.cookie);
    expect(byCookie.status).toBe(401);
    expect(byCookie.body.code).toBe('unauthenticated');
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${before.accessToken}`)
      .expect(401);
    await request(t.http).post('/api/v1/auth/token').set('Cookie', before.cookie).expect(401);
    // Nor can the old cookie re-authenticate again to get back in.
    expect((await reauthenticate(before.cookie, account.password)).status).toBe(401);
  });

  it('refuses an access token: only the browser session is replaced (403 browser_session_required)', async () => {
    const account = await register(t);
    const before = await login(t, account);
    const response = await request(t.http)
      .post('/api/v1/auth/reauthenticate')
      .set('Authorization', `Bearer ${before.accessToken}`)
      .send({ password: account.password });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('browser_session_required');
    expect(cookiesOf(response).has('il_session')).toBe(false);
    await request(t.http).get('/api/v1/me').set('Cookie', before.cookie).expect(200);
    expect(await t.em().count(Session, { user: account.id, revokedAt: null })).toBe(1);
  });

  it('changes nothing on a wrong password: 401, no new cookie, the session goes on and the failure counts', async () => {
    const account = await register(t);
    const before = await login(t, account);
    const refused = await reauthenticate(before.cookie, 'Not#TheRight1');
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('invalid_credentials');
    expect(cookiesOf(refused).has('il_session')).toBe(false);
    await request(t.http).get('/api/v1/me').set('Cookie', before.cookie).expect(200);
    expect(await t.em().count(Session, { user: account.id, revokedAt: null })).toBe(1);
    const credential = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
    expect(credential.failureCount).toBe(1);
  });
});

describe('logout', () => {
  it('ends the session: its cookie and its access tokens are refused afterwards', async () => {
    const account = await register(t);
    const session = await login(t, account);
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${session.accessToken}`)
      .expect(200);

    const out = await request(t.http).post('/api/v1/auth/logout').set('Cookie', session.cookie);
    expect(out.status).toBe(204);
    expect(cookiesOf(out).get('il_session')?.value).toBe('');

    const byCookie = await request(t.http).get('/api/v1/me').set('Cookie', session.cookie);
    expect(byCookie.status).toBe(401);
    expect(byCookie.body.code).toBe('unauthenticated');
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${session.accessToken}`)
      .expect(401);
    await request(t.http).post('/api/v1/auth/token').set('Cookie', session.cookie).expect(401);
    expect(await t.em().count(AuditEvent, { type: 'logout', targetUserId: account.id })).toBe(1);
  });

  it('ends the session of a bearer token too', async () => {
    const session = await login(t, await register(t));
    await request(t.http)
      .post('/api/v1/auth/logout')
      .set('Authorization', `Bearer ${session.accessToken}`)
      .expect(204);
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${session.accessToken}`)
      .expect(401);
    await request(t.http).get('/api/v1/me').set('Cookie', session.cookie).expect(401);
  });

  it('refuses a cross-site logout with the cookie (forced logout)', async () => {
    const session = await login(t, await register(t));
    const byOrigin = await request(t.http)
      .post('/api/v1/auth/logout')
      .set('Cookie', session.cookie)
      .set('Origin', 'https://evil.example');
    expect([byOrigin.status, byOrigin.body.code]).toEqual([403, 'cross_origin_request']);
    expect(cookiesOf(byOrigin).has('il_session')).toBe(false);
    const byFetchSite = await request(t.http)
      .post('/api/v1/auth/logout')
      .set('Cookie', session.cookie)
      .set('Sec-Fetch-Site', 'cross-site');
    expect([byFetchSite.status, byFetchSite.body.code]).toEqual([403, 'cross_origin_request']);
    await request(t.http).get('/api/v1/me').set('Cookie', session.cookie).expect(200);
  });

  it('clears the cookie of an ended session from any origin, and takes a bearer token from any', async () => {
    const ended = await login(t, await register(t));
    await request(t.http).post('/api/v1/auth/logout').set('Cookie', ended.cookie).expect(204);
    const again = await request(t.http)
      .post('/api/v1/auth/logout')
      .set('Cookie', ended.cookie)
      .set('Origin', 'https://evil.example');
    expect(again.status).toBe(204);
    expect(cookiesOf(again).get('il_session')?.value).toBe('');

    // An access token is no ambient credential: another site cannot send it.
    const bearer = await login(t, await register(t));
    await request(t.http)
      .post('/api/v1/auth/logout')
      .set('Authorization', `Bearer ${bearer.accessToken}`)
      .set('Origin', 'https://app.example')
      .expect(204);
    await request(t.http).get('/api/v1/me').set('Cookie', bearer.cookie).expect(401);
  });

  it('ends the sessions of a blocked account', async () => {
    const account = await register(t);
    const session = await login(t, account);
    await t.em().nativeUpdate(User, { id: account.id }, { status: UserStatus.Blocked });
    await request(t.http).get('/api/v1/me').set('Cookie', session.cookie).expect(401);
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${session.accessToken}`)
      .expect(401);
  });
});

describe('session expiry', () => {
  it('refuses a session past its idle or absolute expiry', async () => {
    const idle = await login(t, await register(t));
    await t
      .em()
      .nativeUpdate(
        Session,
        { tokenHash: secretDigest(idle.cookie.split('=')[1]) },
        { idleExpiresAt: new Date(Date.now() - 1000) },
      );
    await request(t.http).get('/api/v1/me').set('Cookie', idle.cookie).expect(401);
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${idle.accessToken}`)
      .expect(401);

    const absolute = await login(t, await register(t));
    await t
      .em()
      .nativeUpdate(
        Session,
        { tokenHash: secretDigest(absolute.cookie.split('=')[1]) },
        { absoluteExpiresAt: new Date(Date.now() - 1000) },
      );
    await request(t.http).get('/api/v1/me').set('Cookie', absolute.cookie).expect(401);
  });
});

describe('cross-site requests with the session cookie', () => {
  it('refuses a cookie-authenticated write from a foreign Origin', async () => {
    const session = await login(t, await register(t));
    const response = await request(t.http)
      .patch('/api/v1/me')
      .set('Cookie', session.cookie)
      .set('Origin', 'https://evil.example')
      .send({ phone: '+79990000000' });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('cross_origin_request');
    await request(t.http)
      .patch('/api/v1/me')
      .set('Cookie', session.cookie)
      .set('Origin', t.config.publicUrl)
      .send({ phone: '+79990000000' })
      .expect(200);
  });
});

describe('the current session', () => {
  it('is described by cookie and by bearer token, and refused without either', async () => {
    const account = await register(t);
    const { cookie, accessToken } = await login(t, account);
    const byCookie = await request(t.http).get('/api/v1/auth/session').set('Cookie', cookie);
    expect(byCookie.status).toBe(200);
    expect(byCookie.headers['cache-control']).toBe('no-store');
    expect(byCookie.body).toEqual({
      userId: account.id,
      login: account.login,
      method: 'pwd',
      via: 'cookie',
      authenticatedAt: expect.any(String),
      idleExpiresAt: expect.any(String),
      absoluteExpiresAt: expect.any(String),
    });
    const byBearer = await request(t.http)
      .get('/api/v1/auth/session')
      .set('Authorization', `Bearer ${accessToken}`);
    expect(byBearer.status).toBe(200);
    expect(byBearer.body).toMatchObject({ userId: account.id, via: 'bearer' });
    const anonymous = await request(t.http).get('/api/v1/auth/session');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('unauthenticated');
  });
});
