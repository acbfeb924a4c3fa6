import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair } from 'jose';
import request from 'supertest';
import { startTestApp, type TestApp } from './support/app.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000' }, { listen: true });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

describe('OpenID Provider: discovery and keys', () => {
  it('publishes discovery at the issuer (PUBLIC_URL) with code + PKCE S256 and no registration', async () => {
    const response = await request(t.http).get('/.well-known/openid-configuration').expect(200);
    const metadata = response.body as Record<string, unknown>;
    expect(metadata).toMatchObject({
      issuer: t.url,
      authorization_endpoint: `${t.url}/oidc/auth`,
      token_endpoint: `${t.url}/oidc/token`,
      userinfo_endpoint: `${t.url}/oidc/me`,
      jwks_uri: `${t.url}/oidc/jwks`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: expect.arrayContaining(['openid', 'profile', 'email', 'phone']),
      id_token_signing_alg_values_supported: ['ES256'],
      acr_values_supported: ['pwd', 'gosuslugi'],
    });
    expect(metadata.registration_endpoint).toBeUndefined();
    expect(metadata.token_endpoint_auth_methods_supported).not.toContain('client_secret_jwt');
  });

  it('publishes the same key set as the access tokens', async () => {
    const provider = await request(t.http).get('/oidc/jwks').expect(200);
    const accessTokens = await request(t.http).get('/.well-known/jwks.json').expect(200);
    expect(provider.body).toEqual(accessTokens.body);
    expect((provider.body as { keys: { d?: string }[] }).keys.every((k) => !k.d)).toBe(true);
  });

  it('publishes both keys during a rotation', async () => {
    const oldKey = await exportJWK(
      (await generateKeyPair('ES256', { extractable: true })).privateKey,
    );
    const newKey = await exportJWK(
      (await generateKeyPair('ES256', { extractable: true })).privateKey,
    );
    const { d: _private, ...oldPublic } = oldKey;
    const during = await startTestApp({
      TOKEN_SIGNING_KEY: JSON.stringify(newKey),
      TOKEN_PREVIOUS_KEYS: JSON.stringify([oldPublic]),
    });
    try {
      const jwks = (await request(during.http).get('/oidc/jwks').expect(200)).body as {
        keys: { x: string }[];
      };
      expect(jwks.keys.map((k) => k.x).sort()).toEqual([oldKey.x, newKey.x].sort());
    } finally {
      await during.close();
    }
  });

  it('leaves every other path to the application (deny by default still applies)', async () => {
    await request(t.http).get('/oidc/unknown').expect(404);
    await request(t.http).get('/api/v1/me').expect(401);
  });
});
