import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import request from 'supertest';
import { startTestApp, type TestApp } from './support/app.js';
import { PRODUCTION_GOSUSLUGI } from './support/production.js';
import { cookiesOf, register } from './support/http.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

describe('production mode (complete configuration, ES256 key as JWK)', () => {
  let t: TestApp;
  beforeAll(async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    t = await startTestApp({
      NODE_ENV: 'production',
      ...PRODUCTION_GOSUSLUGI,
      PUBLIC_URL: 'https://id.school.example',
      TOKEN_SIGNING_KEY: JSON.stringify(await exportJWK(privateKey)),
    });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  it('sets the session cookie with the __Host- prefix, Secure, HttpOnly, SameSite=Lax and Path=/', async () => {
    const account = await register(t);
    const response = await request(t.http)
      .post('/api/v1/auth/login')
      .send({ login: account.login, password: account.password });
    expect(response.status).toBe(200);
    const cookie = cookiesOf(response).get('__Host-il_session');
    expect(cookie).toBeDefined();
    expect(cookie!.attributes).toEqual(
      expect.arrayContaining(['Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/']),
    );
    expect(cookie!.attributes.some((attribute) => attribute.startsWith('Domain='))).toBe(false);
    expect(cookiesOf(response).has('il_session')).toBe(false);
  });

  it('sends HSTS and the other security headers', async () => {
    const response = await request(t.http).get('/health/live');
    expect(response.headers['strict-transport-security']).toMatch(/max-age=31536000/);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('reports readiness when the database answers', async () => {
    const response = await request(t.http).get('/health/ready');
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('ok');
  });
});

describe('production mode with an Ed25519 key as PKCS#8 PEM', () => {
  let t: TestApp;
  beforeAll(async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true, crv: 'Ed25519' });
    t = await startTestApp({
      NODE_ENV: 'production',
      ...PRODUCTION_GOSUSLUGI,
      PUBLIC_URL: 'https://id.school.example',
      TOKEN_SIGNING_KEY: await exportPKCS8(privateKey),
    });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  it('signs access tokens with EdDSA and publishes the OKP key', async () => {
    const jwks = await request(t.http).get('/.well-known/jwks.json').expect(200);
    expect(jwks.body.keys).toEqual([
      expect.objectContaining({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' }),
    ]);
    expect(jwks.body.keys[0]).not.toHaveProperty('d');
  });
});
