import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import request from 'supertest';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { AuditService } from '../src/audit/audit.service.js';
import { AppConfig } from '../src/config/app-config.js';
import { secretDigest } from '../src/common/secrets.js';
import { ClientsService } from '../src/provider/clients.service.js';
import { OidcClient } from '../src/provider/oidc-client.entity.js';
import { Browser } from './support/browser.js';
import {
  authorize,
  clientPost,
  loggedIn,
  type Registered,
  registerClient,
  relyingParty,
} from './support/provider.js';
import { launchChromium, see, watchConsole } from './support/chromium.js';
import { linkThrough, loggedInBrowser } from './support/gosuslugi.js';
import { register, STRONG_PASSWORD, uniqueLogin } from './support/http.js';
import { enrolTotp, loginWithCode } from './support/mfa.js';
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
      // Every client is limited to the query (ClientsService.metadata): discovery says the same.
      response_modes_supported: ['query'],
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

describe('OpenID Provider: authorization code + PKCE', () => {
  it("an RP built with openid-client completes code + PKCE with a password login, validates the ID token against discovery's JWKS and reads UserInfo", async () => {
    const account = await register(t, uniqueLogin('rp'), STRONG_PASSWORD);
    const client = await registerClient(t, { name: 'Электронный дневник' });
    const config = await relyingParty(t, client);
    const browser = new Browser(t.url);

    const { callback, verifier, state, loginPages } = await authorize(
      browser,
      config,
      client,
      account,
    );
    expect(loginPages.length).toBe(1);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({
      iss: t.url,
      aud: client.clientId,
      sub: account.id,
      acr: 'pwd',
      amr: ['pwd'],
    });
    // Independently of openid-client: the signature against the JWKS discovery names.
    const jwksUri = config.serverMetadata().jwks_uri!;
    const { protectedHeader } = await jwtVerify(
      tokens.id_token!,
      createRemoteJWKSet(new URL(jwksUri)),
      {
        issuer: t.url,
        audience: client.clientId,
      },
    );
    expect(protectedHeader.alg).toBe('ES256');

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, account.id);
    expect(userinfo).toMatchObject({ sub: account.id, preferred_username: account.login });
    // No verified address: no e-mail claim at all.
    expect(userinfo.email).toBeUndefined();
  });

  it('the same with a Госуслуги login: acr and amr say gosuslugi', async () => {
    const { browser: linker, id } = await loggedInBrowser(t);
    expect((await linkThrough(linker, 1000000003)).status).toBe(303);
    const client = await registerClient(t);
    const config = await relyingParty(t, client);
    const browser = new Browser(t.url);

    const { callback, verifier, state, loginPages } = await authorize(browser, config, client, {
      gosuslugi: 1000000003,
    });
    expect(loginPages.length).toBe(1);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()).toMatchObject({
      sub: id,
      acr: 'gosuslugi',
      amr: ['gosuslugi'],
    });
    await expect(oidc.fetchUserInfo(config, tokens.access_token, id)).resolves.toMatchObject({
      sub: id,
      family_name: 'Смирнова',
    });
  });

  it('a real browser (Chromium) gets from the login form to the application: our CSP lets it through', async () => {
    // The application's callback: a server of its own, on another origin than ours.
    const application = createServer((_req, res) => res.end('application'));
    await new Promise<void>((resolve) => application.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(application.address() as AddressInfo).port}`;
    const chromium = await launchChromium();
    try {
      const { client, clientSecret } = await t.app.get(ClientsService).create({
        name: 'Электронный дневник',
        redirectUris: [`${origin}/callback`],
        firstParty: true,
      });
      const registered = {
        clientId: client.clientId,
        clientSecret,
        redirectUri: `${origin}/callback`,
      };
      const config = await relyingParty(t, registered);
      const account = await register(t, uniqueLogin('chromium'), STRONG_PASSWORD);
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: registered.redirectUri,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: 'chromium',
      });
      const page = await chromium.newPage();
      const problems = watchConsole(page);
      await page.goto(url.href);
      await see.contains(page.locator('main'), 'Вход в приложение «Электронный дневник»');
      await page.getByLabel('Логин').fill(account.login);
      await page.getByLabel('Пароль', { exact: true }).fill(account.password);
      await page.getByRole('button', { name: 'Войти', exact: true }).click();
      await page.waitForURL(`${origin}/callback?**`);
      const callback = new URL(page.url());
      expect(callback.searchParams.get('state')).toBe('chromium');
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: 'chromium',
      });
      expect(tokens.claims()).toMatchObject({ sub: account.id });
      expect(problems).toEqual([]);
    } finally {
      await chromium.close();
      application.close();
    }
  });

  it('a second client signs the same person in without a login form (single sign-on)', async () => {
    const account = await register(t, uniqueLogin('sso'), STRONG_PASSWORD);
    const diary = await registerClient(t, { name: 'Электронный дневник' });
    const backOffice = await registerClient(t, { name: 'ПОС', isPublic: true });
    const browser = new Browser(t.url);

    const first = await authorize(browser, await relyingParty(t, diary), diary, account);
    expect(first.loginPages.length).toBe(1);

    const config = await relyingParty(t, backOffice);
    const second = await authorize(browser, config, backOffice, null);
    expect(second.loginPages.length).toBe(0);
    const tokens = await oidc.authorizationCodeGrant(config, second.callback, {
      pkceCodeVerifier: second.verifier,
      expectedState: second.state,
    });
    expect(tokens.claims()).toMatchObject({ sub: account.id, aud: backOffice.clientId });
  });

  it('asks for a login again after logging out here, and for prompt=login', async () => {
    const account = await register(t, uniqueLogin('out'), STRONG_PASSWORD);
    const client = await registerClient(t);
    const config = await relyingParty(t, client);
    const browser = new Browser(t.url);
    expect((await authorize(browser, config, client, account)).loginPages.length).toBe(1);
    expect((await authorize(browser, config, client, account)).loginPages.length).toBe(0);
    expect(
      (await authorize(browser, config, client, account, { prompt: 'login' })).loginPages.length,
    ).toBe(1);

    expect((await browser.postJson('/api/v1/auth/logout', {})).status).toBe(204);
    // The provider's own session cookie is still there; ours has ended, so it is not enough.
    expect(browser.cookies.has('il_oidc_session')).toBe(true);
    const after = await authorize(browser, config, client, account);
    expect(after.loginPages.length).toBe(1);
  });

  it('a person logged in here before any application asks signs in without a form', async () => {
    const account = await register(t, uniqueLogin('pre'), STRONG_PASSWORD);
    const client = await registerClient(t);
    const browser = new Browser(t.url);
    const loggedIn = await browser.postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    expect(loggedIn.status).toBe(200);
    const { loginPages } = await authorize(browser, await relyingParty(t, client), client, null);
    expect(loginPages.length).toBe(0);
  });
});

/** The first answer to a hand-made authorization request (no redirect followed). */
function authorizationRequest(browser: Browser, params: Record<string, string>): Promise<Response> {
  return browser.get(`/oidc/auth?${new URLSearchParams(params).toString()}`);
}

function tokenRequest(client: Registered, body: Record<string, string>): Promise<Response> {
  return clientPost(t, client, '/oidc/token', body);
}

describe('OpenID Provider: refusals', () => {
  it('refuses a redirect URI the client did not register, without redirecting there', async () => {
    const { browser } = await loggedIn(t);
    const client = await registerClient(t, { isPublic: true });
    const verifier = oidc.randomPKCECodeVerifier();
    const response = await authorizationRequest(browser, {
      client_id: client.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: 'http://127.0.0.1:9/evil',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('redirect_uri');
  });

  it('refuses a public client without PKCE, and `plain` PKCE for anyone', async () => {
    const { browser } = await loggedIn(t);
    const client = await registerClient(t, { isPublic: true });
    const base = {
      client_id: client.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: client.redirectUri,
      state: 'x',
    };
    const withoutPkce = await authorizationRequest(browser, base);
    const missing = new URL(Browser.location(withoutPkce));
    expect(missing.href.startsWith(client.redirectUri)).toBe(true);
    expect(missing.searchParams.get('error')).toBe('invalid_request');
    expect(missing.searchParams.get('code')).toBeNull();

    const plain = await authorizationRequest(browser, {
      ...base,
      code_challenge: oidc.randomPKCECodeVerifier(),
      code_challenge_method: 'plain',
    });
    const refused = new URL(Browser.location(plain));
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    expect(refused.searchParams.get('code')).toBeNull();
  });

  it('refuses a code used twice and revokes the tokens the first use gave', async () => {
    const { browser, account } = await loggedIn(t);
    const client = await registerClient(t);
    const config = await relyingParty(t, client);
    const { callback, verifier, state } = await authorize(browser, config, client, null);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    await expect(
      oidc.fetchUserInfo(config, tokens.access_token, account.id),
    ).resolves.toMatchObject({
      sub: account.id,
    });

    const connection = t.em().getConnection();
    const [{ grant_id: grantId }] = await connection.execute<{ grant_id: string }[]>(
      `select grant_id from oidc_payloads where model = 'AccessToken' and id = ?`,
      [tokens.access_token],
    );
    expect(grantId).toEqual(expect.any(String));

    const again = await tokenRequest(client, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      redirect_uri: client.redirectUri,
      code_verifier: verifier,
    });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: string }).error).toBe('invalid_grant');
    // The whole grant is revoked (RFC 9700 §4.2.1): the first access token no longer works.
    await expect(oidc.fetchUserInfo(config, tokens.access_token, account.id)).rejects.toThrow();
    // Gone from storage, not only refused: nothing of the grant is left in any model.
    const left = await connection.execute<{ count: string }[]>(
      `select count(*) from oidc_payloads where grant_id = ?`,
      [grantId],
    );
    expect(Number(left[0].count)).toBe(0);
  });

  it('refuses a code of another client, and a wrong client secret', async () => {
    const { browser } = await loggedIn(t);
    const diary = await registerClient(t);
    const other = await registerClient(t, { name: 'Другое приложение' });
    const { callback, verifier } = await authorize(
      browser,
      await relyingParty(t, diary),
      diary,
      null,
    );
    const code = callback.searchParams.get('code')!;

    const stolen = await tokenRequest(other, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: diary.redirectUri,
      code_verifier: verifier,
    });
    expect(stolen.status).toBe(400);
    expect(((await stolen.json()) as { error: string }).error).toBe('invalid_grant');

    const wrongSecret = await tokenRequest(
      { ...diary, clientSecret: `${diary.clientSecret!}x` },
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: diary.redirectUri,
        code_verifier: verifier,
      },
    );
    expect(wrongSecret.status).toBe(401);
    expect(((await wrongSecret.json()) as { error: string }).error).toBe('invalid_client');
    // The stored value is a hash: presenting the hash itself is no better.
    const row = await t
      .em()
      .getConnection()
      .execute<{ secret_hash: string }[]>(
        'select secret_hash from oidc_clients where client_id = ?',
        [diary.clientId],
      );
    const hashAsSecret = await tokenRequest(
      { ...diary, clientSecret: row[0].secret_hash },
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: diary.redirectUri,
        code_verifier: verifier,
      },
    );
    expect(hashAsSecret.status).toBe(401);
  });

  it('refuses a disabled client at once', async () => {
    const { browser } = await loggedIn(t);
    const client = await registerClient(t);
    await t.app.get(ClientsService).disable(client.clientId);
    const response = await authorizationRequest(browser, {
      client_id: client.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: client.redirectUri,
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
  });

  it('sends a client that is not first-party to the consent page instead of answering it', async () => {
    const { browser } = await loggedIn(t);
    const client = await registerClient(t, { name: 'Стороннее приложение', firstParty: false });
    // The walk stops at the consent page: no code (and no refusal) goes to the client unasked;
    // test/provider-consent.spec.ts answers it.
    const config = await relyingParty(t, client);
    await expect(authorize(browser, config, client, null)).rejects.toThrow(
      'the consent page was shown',
    );
    const refused = await authorize(browser, config, client, null, {}, { consent: 'deny' });
    expect(refused.consentPages[0]).toContain('Доступ приложения к учётной записи');
    expect(refused.callback.searchParams.get('error')).toBe('access_denied');
  });
});

describe('OpenID Provider: several instances', () => {
  it('authorize on A, token exchange and UserInfo on B (one database)', async () => {
    const key = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    const shared = {
      TOKEN_SIGNING_KEY: JSON.stringify(key),
      OIDC_COOKIE_KEYS: 'a-shared-cookie-key-of-at-least-32-characters',
      THROTTLE_AUTH_LIMIT: '100000',
    };
    const a = await startTestApp(shared, { listen: true });
    // One deployment: the same PUBLIC_URL (issuer) and keys, another process behind it.
    const b = await startTestApp(
      { ...shared, PUBLIC_URL: a.url },
      { listen: true, database: a.database },
    );
    try {
      const bUrl = `http://127.0.0.1:${(b.http.address() as AddressInfo).port}`;
      expect(bUrl).not.toBe(a.url);
      const { client, clientSecret } = await a.app.get(ClientsService).create({
        name: 'Электронный дневник',
        redirectUris: ['http://127.0.0.1:9/callback'],
        firstParty: true,
      });
      const registered = {
        clientId: client.clientId,
        clientSecret,
        redirectUri: 'http://127.0.0.1:9/callback',
      };
      const config = await oidc.discovery(
        new URL(a.url),
        client.clientId,
        undefined,
        oidc.ClientSecretBasic(clientSecret!),
        { execute: [oidc.allowInsecureRequests] },
      );
      oidc.enableNonRepudiationChecks(config);
      const account = await register(a, uniqueLogin('ab'), STRONG_PASSWORD);
      const browser = new Browser(a.url);
      const { callback, verifier, state } = await authorize(browser, config, registered, account);

      // From here every request of the relying party goes to B.
      const servedByB: string[] = [];
      config[oidc.customFetch] = (url, options) => {
        const rewritten = url.replace(a.url, bUrl);
        servedByB.push(new URL(rewritten).pathname);
        return fetch(rewritten, options as RequestInit);
      };
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      expect(tokens.claims()).toMatchObject({ iss: a.url, sub: account.id });
      await expect(
        oidc.fetchUserInfo(config, tokens.access_token, account.id),
      ).resolves.toMatchObject({ preferred_username: account.login });
      expect(servedByB).toEqual(expect.arrayContaining(['/oidc/token', '/oidc/me']));
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe('OpenID Provider: registered clients', () => {
  it('shows a confidential client secret once, keeps only its hash, rotates and disables with audit events', async () => {
    const clients = t.app.get(ClientsService);
    const { client, clientSecret } = await clients.create(
      { name: 'Электронный дневник', redirectUris: ['https://diary.example/callback'] },
      { via: 'cli' },
    );
    expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const stored = await t.em().findOneOrFail(OidcClient, { clientId: client.clientId });
    expect(stored.secretHash).toBe(secretDigest(clientSecret!));
    expect(JSON.stringify(await clients.list())).not.toContain(clientSecret!);

    const rotated = await clients.rotateSecret(client.clientId, { via: 'cli' });
    expect(rotated.clientSecret).not.toBe(clientSecret);
    expect(JSON.stringify(rotated.client)).not.toContain(rotated.clientSecret);
    await clients.disable(client.clientId, { via: 'cli' });
    await expect(clients.metadata(client.clientId)).resolves.toBeUndefined();

    const events = await t
      .em()
      .find(AuditEvent, { type: { $like: 'oidc.client.%' } }, { orderBy: { createdAt: 'asc' } });
    const mine = events.filter((e) => e.details.clientId === client.clientId);
    expect(mine.map((e) => e.type)).toEqual([
      'oidc.client.created',
      'oidc.client.secret_rotated',
      'oidc.client.disabled',
    ]);
    expect(JSON.stringify(mine)).not.toContain(rotated.clientSecret);

    const publicClient = await clients.create({
      name: 'Мобильное приложение',
      redirectUris: ['https://app.example/cb'],
      isPublic: true,
    });
    expect(publicClient.clientSecret).toBeNull();
    await expect(clients.rotateSecret(publicClient.client.clientId)).rejects.toMatchObject({
      code: 'public_client',
    });
    await expect(clients.disable('no-such-client')).rejects.toMatchObject({
      code: 'client_not_found',
    });
  });

  it('accepts https redirect URIs, http only to loopback outside production, and no fragments', async () => {
    const clients = t.app.get(ClientsService);
    const create = (uri: string) => clients.create({ name: 'x', redirectUris: [uri] });
    await expect(create('http://127.0.0.1:8080/cb')).resolves.toBeDefined();
    await expect(create('http://diary.example/cb')).rejects.toMatchObject({
      code: 'validation_failed',
      errors: { redirectUris: [{ code: 'https_required' }] },
    });
    await expect(create('https://diary.example/cb#x')).rejects.toMatchObject({
      errors: { redirectUris: [{ code: 'fragment' }] },
    });
    await expect(create('not a url')).rejects.toMatchObject({
      errors: { redirectUris: [{ code: 'invalid_uri' }] },
    });

    const production = Object.assign(Object.create(AppConfig.prototype) as AppConfig, {
      ...t.config,
      env: 'production',
    });
    const productionClients = new ClientsService(t.em(), t.app.get(AuditService), production);
    await expect(
      productionClients.create({ name: 'x', redirectUris: ['http://127.0.0.1:8080/cb'] }),
    ).rejects.toMatchObject({ errors: { redirectUris: [{ code: 'https_required' }] } });
  });
});

describe('OpenID Provider: the second factor in the ID token', () => {
  it('after a password and TOTP login the ID token says amr pwd and otp (acr stays pwd)', async () => {
    const account = await register(t, uniqueLogin('otp'), STRONG_PASSWORD);
    const browser = new Browser(t.url);
    const first = await browser.postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    expect(first.status).toBe(200);
    const { app } = await enrolTotp(browser);
    const next = new Browser(t.url);
    expect((await loginWithCode(next, account, await app.code())).status).toBe(200);

    const client = await registerClient(t, { name: 'Бэк-офис ПОС' });
    const config = await relyingParty(t, client);
    const { callback, verifier, state, loginPages } = await authorize(next, config, client, null);
    expect(loginPages.length).toBe(0);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()).toMatchObject({ sub: account.id, acr: 'pwd', amr: ['pwd', 'otp'] });
  });
});
