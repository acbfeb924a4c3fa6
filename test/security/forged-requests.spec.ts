import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { User } from '../../src/identity/user.entity.js';
import { Session } from '../../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { register } from '../support/http.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * What a page on another site can make a victim's browser send without asking: a form post
 * (urlencoded, multipart or text/plain). None of it may reach the JSON API.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

const EVIL = 'https://evil.example';

describe('login CSRF', () => {
  it('a cross-site urlencoded form cannot log the browser into the attacker’s account', async () => {
    const attacker = await register(t);
    const sessionsBefore = await t.em().count(Session, { user: attacker.id });
    const response = await request(t.http)
      .post('/api/v1/auth/login')
      .set('origin', EVIL)
      .set('sec-fetch-site', 'cross-site')
      .type('form')
      .send({ login: attacker.login, password: attacker.password });
    expect(response.status).toBe(415);
    expect(response.body.code).toBe('unsupported_media_type');
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(await t.em().count(Session, { user: attacker.id })).toBe(sessionsBefore);
  });

  // The router matches a path with its escapes decoded and its letters in any case; the JSON rule
  // must hold for every spelling of an API path that reaches an API handler.
  it.each([
    ['/%61pi/v1/auth/login'],
    ['/api/v1/auth/%6Cogin'],
    ['/API/v1/auth/login'],
    ['/Api/V1/Auth/Login/'],
  ])('a cross-site form to the API login spelt %s is refused the same way', async (path) => {
    const attacker = await register(t);
    const sessionsBefore = await t.em().count(Session, { user: attacker.id });
    const response = await request(t.http)
      .post(path)
      .set('origin', EVIL)
      .set('sec-fetch-site', 'cross-site')
      .type('form')
      .send({ login: attacker.login, password: attacker.password });
    expect([response.status, response.body.code]).toEqual([415, 'unsupported_media_type']);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(await t.em().count(Session, { user: attacker.id })).toBe(sessionsBefore);
  });

  it('a text/plain body shaped as JSON (the enctype trick) is refused the same way', async () => {
    const attacker = await register(t);
    const response = await request(t.http)
      .post('/api/v1/auth/login')
      .set('content-type', 'text/plain')
      .send(JSON.stringify({ login: attacker.login, password: attacker.password }));
    expect(response.status).toBe(415);
    expect(response.body.code).toBe('unsupported_media_type');
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('a multipart form to registration creates nothing', async () => {
    const response = await request(t.http)
      .post('/api/v1/accounts')
      .field('login', 'forged.multipart')
      .field('password', 'Zvezda#2026x');
    expect(response.status).toBe(415);
    expect(await t.em().count(User, { login: 'forged.multipart' })).toBe(0);
  });

  it('a JSON login from an API client still works', async () => {
    const account = await register(t);
    const response = await request(t.http)
      .post('/api/v1/auth/login')
      .set('content-type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ login: account.login, password: account.password }));
    expect(response.status).toBe(200);
  });
});
