import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from 'jose';
import { type AddressInfo } from 'node:net';
import request from 'supertest';
import { TokenService } from '../src/sessions/token.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { login, register } from './support/http.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

let t: TestApp;
let baseUrl: string;
beforeAll(async () => {
  t = await startTestApp({
    ACCESS_TOKEN_AUDIENCE: 'epos-diary',
    ACCESS_TOKEN_TTL: '2s',
    THROTTLE_AUTH_LIMIT: '100000',
  });
  await t.app.listen(0, '127.0.0.1');
  baseUrl = `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

describe('access tokens', () => {
  it('verify against the published JWKS with jose, checking iss, aud and exp', async () => {
    const account = await register(t);
    const { accessToken } = await login(t, account);
    const jwks = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`));

    const { payload, protectedHeader } = await jwtVerify(accessToken, jwks, {
      issuer: t.config.publicUrl,
      audience: 'epos-diary',
      typ: 'at+jwt',
      algorithms: ['ES256', 'EdDSA'],
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(protectedHeader.kid).toEqual(expect.any(String));
    expect(payload).toMatchObject({
      sub: account.id,
      amr: ['pwd'],
      iss: t.config.publicUrl,
      aud: 'epos-diary',
    });
    expect(payload.sid).toEqual(expect.any(String));
    expect(payload.exp! - payload.iat!).toBe(2);

    await expect(
      jwtVerify(accessToken, jwks, { issuer: t.config.publicUrl, audience: 'another-service' }),
    ).rejects.toThrow(/aud/);
    await expect(
      jwtVerify(accessToken, jwks, { issuer: 'https://evil.example', audience: 'epos-diary' }),
    ).rejects.toThrow(/iss/);

    await new Promise((resolve) => setTimeout(resolve, 3100));
    await expect(
      jwtVerify(accessToken, jwks, { issuer: t.config.publicUrl, audience: 'epos-diary' }),
    ).rejects.toThrow(/exp/);
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Bearer ${accessToken}`)
      .expect(401);
  });

  it('publishes only public key material, with a kid matching the token header', async () => {
    const response = await request(t.http).get('/.well-known/jwks.json').expect(200);
    expect(response.body.keys).toHaveLength(1);
    const [key] = response.body.keys;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key).not.toHaveProperty('d');
    const { accessToken } = await login(t, await register(t));
    expect(decodeProtectedHeader(accessToken).kid).toBe(key.kid);
  });

  it('lets a verifier revalidate its copy of the JWKS (304 for its ETag)', async () => {
    const first = await request(t.http).get('/.well-known/jwks.json').expect(200);
    const etag = first.headers.etag;
    expect(etag).toMatch(/^"[\w-]{32}"$/);
    const again = await request(t.http)
      .get('/.well-known/jwks.json')
      .set('If-None-Match', etag)
      .expect(304);
    expect(again.text).toBe('');
    await request(t.http).get('/.well-known/jwks.json').set('If-None-Match', '"other"').expect(200);
  });

  it('issues a fresh token for the cookie session, not for a bearer token', async () => {
    const session = await login(t, await register(t));
    const fresh = await request(t.http)
      .post('/api/v1/auth/token')
      .set('Cookie', session.cookie)
      .expect(200);
    expect(fresh.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 2 });
    expect(fresh.headers['cache-control']).toBe('no-store');
    const refused = await request(t.http)
      .post('/api/v1/auth/token')
      .set('Authorization', `Bearer ${session.accessToken}`)
      .expect(403);
    expect(refused.body.code).toBe('browser_session_required');
  });

  it('refuses a token signed by another key, even with a matching kid', async () => {
    const session = await login(t, await register(t));
    const header = decodeProtectedHeader(session.accessToken);
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sid: 'x', amr: ['pwd'] })
      .setProtectedHeader({ alg: 'ES256', kid: header.kid, typ: 'at+jwt' })
      .setIssuer(t.config.publicUrl)
      .setAudience('epos-diary')
      .setSubject('00000000-0000-4000-8000-000000000000')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    await request(t.http).get('/api/v1/me').set('Authorization', `Bearer ${forged}`).expect(401);
  });

  it('refuses an unsigned (alg none) token and a malformed Authorization header', async () => {
    const session = await login(t, await register(t));
    const [, payload] = session.accessToken.split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;
    await request(t.http).get('/api/v1/me').set('Authorization', `Bearer ${unsigned}`).expect(401);
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', `Basic ${session.accessToken}`)
      .expect(401);
    // A bad bearer is not silently replaced by a good cookie: the request is refused.
    await request(t.http)
      .get('/api/v1/me')
      .set('Authorization', 'Bearer nonsense')
      .set('Cookie', session.cookie)
      .expect(401);
  });
});

describe('signing key rotation', () => {
  it('publishes and accepts the retired key next to the new one until it is removed', async () => {
    const jwkOf = async () =>
      exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    const oldKey = await jwkOf();
    const newKey = await jwkOf();
    const claims = { sub: '00000000-0000-4000-8000-000000000001', sid: 'rotation', amr: ['pwd'] };

    const before = await startTestApp({ TOKEN_SIGNING_KEY: JSON.stringify(oldKey) });
    const oldToken = (await before.app.get(TokenService).issue(claims)).token;
    await before.close();

    const { d: _oldPrivate, ...oldPublic } = oldKey;
    const during = await startTestApp({
      TOKEN_SIGNING_KEY: JSON.stringify(newKey),
      TOKEN_PREVIOUS_KEYS: JSON.stringify([oldPublic]),
    });
    try {
      const tokens = during.app.get(TokenService);
      const newToken = (await tokens.issue(claims)).token;
      expect(decodeProtectedHeader(newToken).kid).not.toBe(decodeProtectedHeader(oldToken).kid);
      await expect(tokens.verify(oldToken)).resolves.toMatchObject({ sid: 'rotation' });
      await expect(tokens.verify(newToken)).resolves.toMatchObject({ sid: 'rotation' });
      const jwks = (await request(during.http).get('/.well-known/jwks.json')).body as {
        keys: { kid: string; d?: string }[];
      };
      expect(jwks.keys.map((k) => k.kid).sort()).toEqual(
        [decodeProtectedHeader(oldToken).kid, decodeProtectedHeader(newToken).kid].sort(),
      );
      expect(jwks.keys.every((k) => k.d === undefined)).toBe(true);
    } finally {
      await during.close();
    }

    const after = await startTestApp({ TOKEN_SIGNING_KEY: JSON.stringify(newKey) });
    try {
      await expect(after.app.get(TokenService).verify(oldToken)).rejects.toThrow();
    } finally {
      await after.close();
    }
  });

  it('refuses to start on a malformed TOKEN_PREVIOUS_KEYS', async () => {
    await expect(startTestApp({ TOKEN_PREVIOUS_KEYS: '{"not":"an array"}' })).rejects.toThrow(
      /TOKEN_PREVIOUS_KEYS/,
    );
  });
});
