import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  calculateJwkThumbprint,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
} from 'jose';
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import request from 'supertest';
import {
  createTestDatabase,
  startTestApp,
  type TestApp,
  type TestDatabase,
} from '../support/app.js';
import { login, register } from '../support/http.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Attacks on the access tokens: tokens meant for another audience, algorithm confusion, keys
 * smuggled in through JOSE headers, and key rotation. Every forged token names a live session, so
 * the only thing wrong with it is what the attack changed.
 */

const DIARY = 'epos-diary';
const BACK_OFFICE = 'pos-backoffice';
const NO_LIMITS = { THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' };

async function privateJwk(): Promise<JWK> {
  return exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
}

function publicPart({ kty, crv, x, y }: JWK): JWK {
  return { kty, crv, x, y };
}

const listening = (t: TestApp) => `http://127.0.0.1:${(t.http.address() as AddressInfo).port}`;

/** What a downstream application does: jose against the published JWKS, everything pinned. */
function downstreamVerify(jwksBase: string, issuer: string, audience: string) {
  const jwks = createRemoteJWKSet(new URL(`${jwksBase}/.well-known/jwks.json`));
  return (token: string) =>
    jwtVerify(token, jwks, { issuer, audience, typ: 'at+jwt', algorithms: ['ES256', 'EdDSA'] });
}

const bearer = (t: TestApp, token: string) =>
  request(t.http).get('/api/v1/me').set('Authorization', `Bearer ${token}`);

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('forged and misdirected access tokens', () => {
  let t: TestApp;
  let serviceKey: CryptoKey;
  let kid: string;
  /** The attacker's own server: a jku or x5u the service followed would show up here. */
  let attackerSite: Server;
  let attackerUrl: string;
  const attackerHits: string[] = [];
  let attacker: { privateKey: CryptoKey; jwk: JWK };

  beforeAll(async () => {
    const signing = await privateJwk();
    t = await startTestApp(
      {
        ...NO_LIMITS,
        TOKEN_SIGNING_KEY: JSON.stringify(signing),
        ACCESS_TOKEN_AUDIENCES: `${DIARY}, ${BACK_OFFICE}`,
      },
      { listen: true },
    );
    serviceKey = (await importJWK({ ...signing, alg: 'ES256' }, 'ES256')) as CryptoKey;
    kid = await calculateJwkThumbprint(publicPart(signing));

    const pair = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(pair.publicKey);
    attacker = {
      privateKey: pair.privateKey,
      jwk: { ...jwk, kid: await calculateJwkThumbprint(jwk) },
    };
    attackerSite = createServer((req, res) => {
      attackerHits.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...attacker.jwk, kid }] }));
    });
    await new Promise<void>((resolve) => attackerSite.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attackerSite.address() as AddressInfo).port}`;
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await new Promise((resolve) => attackerSite.close(resolve));
    await t.close();
  });

  /** A live session and its genuine access token (for this service). */
  async function session() {
    return login(t, await register(t));
  }

  /** The genuine token's claims under another header or key: only the attack differs. */
  function forge(
    genuine: string,
    header: JWTHeaderParameters,
    key: CryptoKey | Uint8Array,
    options?: Parameters<SignJWT['sign']>[1],
  ): Promise<string> {
    return new SignJWT(decodeJwt(genuine)).setProtectedHeader(header).sign(key, options);
  }

  async function expectRefused(token: string): Promise<void> {
    const response = await bearer(t, token);
    expect(response.status).toBe(401);
    expect(response.body).toEqual({
      statusCode: 401,
      code: 'unauthenticated',
      message: 'Требуется вход в систему',
    });
  }

  it('control: the genuine claims re-signed with the service key and header are accepted', async () => {
    const { accessToken } = await session();
    const resigned = await forge(accessToken, { alg: 'ES256', kid, typ: 'at+jwt' }, serviceKey);
    expect((await bearer(t, resigned)).status).toBe(200);
  });

  it('refuses a token whose sub is another user while its sid names this session (401)', async () => {
    const { accessToken } = await session();
    const other = await register(t);
    const forged = await new SignJWT({ ...decodeJwt(accessToken), sub: other.id })
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' })
      .sign(serviceKey);
    await expectRefused(forged);
    // The other user's own session is not what the token named either: nothing to borrow.
    expect((await bearer(t, accessToken)).status).toBe(200);
  });

  describe('audiences', () => {
    it('a token minted for the diary is refused by Identity Link’s own API (401 unauthenticated)', async () => {
      const { cookie, accessToken } = await session();
      const issued = await request(t.http)
        .post('/api/v1/auth/token')
        .set('Cookie', cookie)
        .send({ audience: DIARY })
        .expect(200);
      const diaryToken = issued.body.accessToken as string;
      expect(decodeJwt(diaryToken).aud).toBe(DIARY);
      // A genuine token for the diary, as the diary sees it...
      await expect(
        downstreamVerify(t.url, t.config.accessToken.issuer, DIARY)(diaryToken),
      ).resolves.toBeDefined();
      // ...but the diary (or whoever stole it there) cannot act as the user here.
      await expectRefused(diaryToken);
      const write = await request(t.http)
        .patch('/api/v1/me')
        .set('Authorization', `Bearer ${diaryToken}`)
        .send({ phone: '+79123456789' });
      expect(write.status).toBe(401);
      expect((await bearer(t, accessToken)).body.phone).toBeNull();
    });

    it('a token for Identity Link is refused by the diary’s verifier', async () => {
      const { accessToken } = await session();
      const issuer = t.config.accessToken.issuer;
      await expect(downstreamVerify(t.url, issuer, DIARY)(accessToken)).rejects.toMatchObject({
        code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
        claim: 'aud',
      });
      await expect(
        downstreamVerify(t.url, issuer, t.config.accessToken.audience)(accessToken),
      ).resolves.toBeDefined();
    });

    it('a token minted for the diary is refused by the back office’s verifier', async () => {
      const { cookie } = await session();
      const issued = await request(t.http)
        .post('/api/v1/auth/token')
        .set('Cookie', cookie)
        .send({ audience: DIARY })
        .expect(200);
      await expect(
        downstreamVerify(t.url, t.config.accessToken.issuer, BACK_OFFICE)(issued.body.accessToken),
      ).rejects.toMatchObject({ code: 'ERR_JWT_CLAIM_VALIDATION_FAILED', claim: 'aud' });
    });

    it('refuses to mint a token for an audience that is not configured: 422 unknown_audience', async () => {
      const { cookie } = await session();
      const response = await request(t.http)
        .post('/api/v1/auth/token')
        .set('Cookie', cookie)
        .send({ audience: 'evil-app' });
      expect(response.status).toBe(422);
      expect(response.body).toEqual({
        statusCode: 422,
        code: 'validation_failed',
        message: 'Проверьте введённые данные',
        errors: {
          audience: [{ code: 'unknown_audience', message: 'Неизвестный получатель токена' }],
        },
      });
    });
  });

  describe('algorithm confusion', () => {
    it.each([['the JWK as published'], ['the whole JWKS document'], ['the SPKI PEM']])(
      'refuses HS256 keyed with the public key (%s) as the HMAC secret',
      async (form) => {
        const { accessToken } = await session();
        const jwks = await request(t.http).get('/.well-known/jwks.json').expect(200);
        const published = (jwks.body as { keys: JWK[] }).keys[0];
        const secret =
          form === 'the JWK as published'
            ? JSON.stringify(published)
            : form === 'the whole JWKS document'
              ? jwks.text
              : await exportSPKI((await importJWK(published, 'ES256')) as CryptoKey);
        const forged = await forge(
          accessToken,
          { alg: 'HS256', kid, typ: 'at+jwt' },
          new TextEncoder().encode(secret),
        );
        await expectRefused(forged);
      },
    );

    it('refuses an unsigned token (alg none) carrying the real kid', async () => {
      const { accessToken } = await session();
      const payload = accessToken.split('.')[1];
      await expectRefused(`${b64({ alg: 'none', kid, typ: 'at+jwt' })}.${payload}.`);
    });
  });

  describe('keys smuggled in through the header', () => {
    it.each([['jku'], ['x5u']])(
      'refuses a token whose %s points at the attacker’s keys, and never fetches it',
      async (parameter) => {
        const { accessToken } = await session();
        const before = attackerHits.length;
        const forged = await forge(
          accessToken,
          { alg: 'ES256', kid, typ: 'at+jwt', [parameter]: `${attackerUrl}/keys` },
          attacker.privateKey,
        );
        await expectRefused(forged);
        expect(attackerHits.length).toBe(before);
      },
    );

    it.each([
      ['with the service’s real kid', true],
      ['without a kid', false],
    ])('refuses a token signed by the key embedded in its jwk header, %s', async (_, realKid) => {
      const { accessToken } = await session();
      const { kid: _own, ...embedded } = attacker.jwk;
      const forged = await forge(
        accessToken,
        { alg: 'ES256', typ: 'at+jwt', jwk: embedded, ...(realKid && { kid }) },
        attacker.privateKey,
      );
      await expectRefused(forged);
    });

    it.each([
      ['typ JWT', 'JWT'],
      ['typ secevent+jwt', 'secevent+jwt'],
      ['no typ', undefined],
    ])('refuses a token signed by the service key with %s', async (_, typ) => {
      const { accessToken } = await session();
      const forged = await forge(accessToken, { alg: 'ES256', kid, typ }, serviceKey);
      await expectRefused(forged);
    });

    it('refuses a token signed by the service key with a crit extension it does not know', async () => {
      const { accessToken } = await session();
      const forged = await forge(
        accessToken,
        {
          alg: 'ES256',
          kid,
          typ: 'at+jwt',
          crit: ['urn:example:bound-to'],
          'urn:example:bound-to': 'x',
        },
        serviceKey,
        { crit: { 'urn:example:bound-to': true } },
      );
      await expectRefused(forged);
    });

    it('refuses a token signed by the service key under a kid that is not in the JWKS', async () => {
      const { accessToken } = await session();
      const forged = await forge(
        accessToken,
        { alg: 'ES256', typ: 'at+jwt', kid: 'not-in-the-jwks' },
        serviceKey,
      );
      await expectRefused(forged);
    });
  });
});

describe('signing key rotation on one deployment', () => {
  const ISSUER = 'http://identity.school.test';
  let database: TestDatabase;
  let oldKey: JWK;
  let newKey: JWK;
  let oldKid: string;
  let newKid: string;
  let cookie: string;
  let oldToken: string;
  let newToken: string;

  /** The same deployment (database, issuer) restarted with other key settings. */
  async function deployment(env: Record<string, string>): Promise<TestApp> {
    const app = await startTestApp({ ...NO_LIMITS, PUBLIC_URL: ISSUER, ...env }, { database });
    await app.app.listen(0, '127.0.0.1');
    return app;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    oldKey = await privateJwk();
    newKey = await privateJwk();
    oldKid = await calculateJwkThumbprint(publicPart(oldKey));
    newKid = await calculateJwkThumbprint(publicPart(newKey));
    const before = await deployment({ TOKEN_SIGNING_KEY: JSON.stringify(oldKey) });
    try {
      const signedIn = await login(before, await register(before));
      cookie = signedIn.cookie;
      oldToken = signedIn.accessToken;
    } finally {
      await before.close();
    }
    expect(decodeProtectedHeader(oldToken).kid).toBe(oldKid);
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await database.drop();
  });

  describe('while the old key is listed in TOKEN_PREVIOUS_KEYS', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await deployment({
        TOKEN_SIGNING_KEY: JSON.stringify(newKey),
        TOKEN_PREVIOUS_KEYS: JSON.stringify([publicPart(oldKey)]),
      });
    }, STARTUP_TIMEOUT_MS);
    afterAll(async () => {
      await t.close();
    });

    it('still accepts a token signed with the old key, at the API and for a downstream verifier', async () => {
      expect((await bearer(t, oldToken)).status).toBe(200);
      const jwks = await request(t.http).get('/.well-known/jwks.json').expect(200);
      expect((jwks.body as { keys: JWK[] }).keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
      const verified = await downstreamVerify(
        listening(t),
        ISSUER,
        t.config.accessToken.audience,
      )(oldToken);
      expect(verified.protectedHeader.kid).toBe(oldKid);
    });

    it('signs new tokens with the new key only', async () => {
      const issued = await request(t.http)
        .post('/api/v1/auth/token')
        .set('Cookie', cookie)
        .expect(200);
      newToken = issued.body.accessToken as string;
      expect(decodeProtectedHeader(newToken).kid).toBe(newKid);
      expect((await bearer(t, newToken)).status).toBe(200);
      const verified = await downstreamVerify(
        listening(t),
        ISSUER,
        t.config.accessToken.audience,
      )(newToken);
      expect(verified.payload.sub).toBe(decodeJwt(oldToken).sub);
    });
  });

  describe('after the old key is retired', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await deployment({ TOKEN_SIGNING_KEY: JSON.stringify(newKey) });
    }, STARTUP_TIMEOUT_MS);
    afterAll(async () => {
      await t.close();
    });

    it('refuses a token signed with the old key, at the API and for a downstream verifier', async () => {
      const refused = await bearer(t, oldToken);
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe('unauthenticated');
      const jwks = await request(t.http).get('/.well-known/jwks.json').expect(200);
      expect((jwks.body as { keys: JWK[] }).keys.map((k) => k.kid)).toEqual([newKid]);
      await expect(
        downstreamVerify(listening(t), ISSUER, t.config.accessToken.audience)(oldToken),
      ).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
      // The session itself is alive: the new key's token still works.
      expect((await bearer(t, newToken)).status).toBe(200);
    });
  });
});
