import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import argon2 from 'argon2';
import request from 'supertest';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { PasswordCredential } from '../src/identity/password-credential.entity.js';
import { argon2idParameters, PasswordHasher } from '../src/identity/password-hasher.service.js';
import { User } from '../src/identity/user.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { login, register, STRONG_PASSWORD, uniqueLogin, weakenStoredHash } from './support/http.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

const errorCodes = (body: { errors?: Record<string, { code: string }[]> }, field: string) =>
  (body.errors?.[field] ?? []).map((error) => error.code);

describe('registration and the password policy over HTTP', () => {
  it('registers an account and keeps the typed e-mail pending, not trusted', async () => {
    const name = uniqueLogin('Ivanova');
    const response = await request(t.http).post('/api/v1/accounts').send({
      login: name,
      password: STRONG_PASSWORD,
      email: ' Ivanova@Example.RU ',
      phone: '8 (912) 345-67-89',
    });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      login: name.toLowerCase(),
      email: null,
      pendingEmail: 'ivanova@example.ru',
      phone: '+79123456789',
      status: 'active',
    });
    expect(response.body).not.toHaveProperty('hash');
    const events = await t
      .em()
      .find(AuditEvent, { type: 'account.registered', targetUserId: response.body.id });
    expect(events).toHaveLength(1);
  });

  it('reports every broken rule by code with a Russian text in one 422', async () => {
    const response = await request(t.http)
      .post('/api/v1/accounts')
      .send({ login: uniqueLogin(), password: 'пароль' });
    expect(response.status).toBe(422);
    expect(response.body.code).toBe('validation_failed');
    expect(errorCodes(response.body, 'password')).toEqual([
      'too_short',
      'no_special',
      'no_digit',
      'no_upper',
      'no_lower',
      'cyrillic',
    ]);
    for (const error of response.body.errors.password) expect(error.message).toMatch(/[А-Яа-я]/);
  });

  it('accepts Aa1!aaaa and rejects a Cyrillic letter anywhere with code cyrillic', async () => {
    await register(t, uniqueLogin(), 'Aa1!aaaa');
    const response = await request(t.http)
      .post('/api/v1/accounts')
      .send({ login: uniqueLogin(), password: 'Aa1!aaaaЁ' });
    expect(response.status).toBe(422);
    expect(errorCodes(response.body, 'password')).toEqual(['cyrillic']);
  });

  it('accepts 128 characters, rejects 129 with too_long', async () => {
    await register(t, uniqueLogin(), 'Aa1!' + 'q'.repeat(124));
    const response = await request(t.http)
      .post('/api/v1/accounts')
      .send({ login: uniqueLogin(), password: 'Aa1!' + 'q'.repeat(125) });
    expect(response.status).toBe(422);
    expect(errorCodes(response.body, 'password')).toEqual(['too_long']);
  });

  it('rejects a 10,000-character password before any hashing', async () => {
    const hasher = t.app.get(PasswordHasher);
    const before = hasher.operations;
    const response = await request(t.http)
      .post('/api/v1/accounts')
      .send({ login: uniqueLogin(), password: 'Aa1!' + 'q'.repeat(9996) });
    expect(response.status).toBe(422);
    expect(errorCodes(response.body, 'password')).toContain('too_long');
    expect(hasher.operations).toBe(before);
  });

  it('rejects a password that contains the login and a common one', async () => {
    const name = uniqueLogin('smirnov');
    const contains = await request(t.http)
      .post('/api/v1/accounts')
      .send({ login: name, password: `X${name.toUpperCase()}1!a` });
    expect(errorCodes(contains.body, 'password')).toEqual(['contains_login']);
    const common = await request(t.http)
      .post('/api/v1/accounts')
      .send({ login: uniqueLogin(), password: 'Qwerty123!' });
    expect(errorCodes(common.body, 'password')).toEqual(['common']);
  });

  it('refuses a taken login with 409, case-insensitively, enforced by the database', async () => {
    const name = uniqueLogin('taken');
    await register(t, name);
    const response = await request(t.http)
      .post('/api/v1/accounts')
      .send({ login: name.toUpperCase(), password: STRONG_PASSWORD });
    expect(response.status).toBe(409);
    expect(response.body.code).toBe('login_taken');
  });

  it('serves the policy as data', async () => {
    const response = await request(t.http).get('/api/v1/password-policy');
    expect(response.status).toBe(200);
    expect(response.body.specialCharacters).toBe('!@#$%^&*()');
    expect(response.body.rules.map((rule: { code: string }) => rule.code)).toEqual(
      expect.arrayContaining([
        'too_short',
        'no_digit',
        'no_special',
        'no_upper',
        'no_lower',
        'cyrillic',
      ]),
    );
  });
});

describe('password storage', () => {
  it('stores an argon2id hash with m >= 19456 and t >= 2', async () => {
    const account = await register(t);
    const credential = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
    expect(credential.hash).toMatch(/^\$argon2id\$v=19\$m=/);
    const params = argon2idParameters(credential.hash);
    expect(params!.m).toBeGreaterThanOrEqual(19456);
    expect(params!.t).toBeGreaterThanOrEqual(2);
    expect(params!.p).toBeGreaterThanOrEqual(1);
  });

  it('upgrades a hash made with weaker parameters on the next successful login', async () => {
    const account = await register(t);
    const weak = await weakenStoredHash(t, account.id, account.password);

    await login(t, account);

    const credential = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
    expect(credential.hash).not.toBe(weak);
    expect(argon2idParameters(credential.hash)).toEqual({ m: 19456, t: 2, p: 1 });
    expect(await argon2.verify(credential.hash, account.password)).toBe(true);
    expect(
      await t.em().count(AuditEvent, { type: 'password.rehashed', targetUserId: account.id }),
    ).toBe(1);
  });
});

describe('failure counting under concurrency', () => {
  it('counts twelve concurrent wrong guesses as twelve', async () => {
    const account = await register(t);
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        request(t.http)
          .post('/api/v1/auth/login')
          .send({ login: account.login, password: `Parallel#Wrong${i}` }),
      ),
    );
    const credential = await t.em().findOneOrFail(PasswordCredential, { user: account.id });
    expect(credential.failureCount).toBe(12);
  });
});

describe('mass assignment', () => {
  it('rejects unknown fields at registration with unknown_field and creates nothing', async () => {
    const name = uniqueLogin('mass');
    const response = await request(t.http).post('/api/v1/accounts').send({
      login: name,
      password: STRONG_PASSWORD,
      status: 'active',
      id: '00000000-0000-4000-8000-000000000000',
      isAdmin: true,
    });
    expect(response.status).toBe(422);
    expect(errorCodes(response.body, 'status')).toEqual(['unknown_field']);
    expect(errorCodes(response.body, 'id')).toEqual(['unknown_field']);
    expect(errorCodes(response.body, 'isAdmin')).toEqual(['unknown_field']);
    expect(await t.em().count(User, { login: name })).toBe(0);
  });

  it('rejects status and id in PATCH /me and changes nothing', async () => {
    const account = await register(t);
    const session = await login(t, account);
    const response = await request(t.http).patch('/api/v1/me').set('Cookie', session.cookie).send({
      phone: '+79990001122',
      status: 'blocked',
      id: '00000000-0000-4000-8000-000000000000',
      login: 'root',
    });
    expect(response.status).toBe(422);
    const user = await t.em().findOneOrFail(User, account.id);
    expect(user).toMatchObject({ status: 'active', phone: null, login: account.login });
  });
});

describe('«Личный кабинет» profile', () => {
  it('shows and changes phone and e-mail; a new e-mail stays pending', async () => {
    const account = await register(t);
    const { accessToken } = await login(t, account);
    const patched = await request(t.http)
      .patch('/api/v1/me')
      .set('Authorization', `Bearer ${accessToken}`)
      .send({ phone: '+7 (912) 000-11-22', email: 'new@example.ru' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      phone: '+79120001122',
      email: null,
      pendingEmail: 'new@example.ru',
      identities: [],
      memberships: [],
    });
    const me = await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${accessToken}`);
    expect(me.body).toMatchObject({ login: account.login, phone: '+79120001122' });
    expect(
      await t.em().count(AuditEvent, { type: 'profile.changed', targetUserId: account.id }),
    ).toBe(1);
  });

  it('rejects a malformed phone and e-mail with field codes', async () => {
    const account = await register(t);
    const { cookie } = await login(t, account);
    const response = await request(t.http)
      .patch('/api/v1/me')
      .set('Cookie', cookie)
      .send({ phone: '12', email: 'not-an-address' });
    expect(response.status).toBe(422);
    expect(errorCodes(response.body, 'phone')).toContain('invalid_phone');
    expect(errorCodes(response.body, 'email')).toContain('invalid_email');
  });
});
