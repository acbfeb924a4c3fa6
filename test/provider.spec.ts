import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { randomUUID } from 'node:crypto';
import * as oidc from 'openid-client';
import request from 'supertest';
import { ClientsService } from '../src/provider/clients.service.js';
import { Browser } from './support/browser.js';
import { register, STRONG_PASSWORD, uniqueLogin } from './support/http.js';
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

interface Registered {
  clientId: string;
  clientSecret: string | null;
  redirectUri: string;
}

async function registerClient(
  options: { name?: string; isPublic?: boolean; firstParty?: boolean } = {},
): Promise<Registered> {
  const redirectUri = `http://127.0.0.1:9/callback/${randomUUID()}`;
  const { client, clientSecret } = await t.app.get(ClientsService).create({
    name: options.name ?? 'Электронный дневник',
    redirectUris: [redirectUri],
    isPublic: options.isPublic ?? false,
    firstParty: options.firstParty ?? true,
  });
  return { clientId: client.clientId, clientSecret, redirectUri };
}

/** A relying party built with openid-client from our discovery document. */
async function relyingParty(client: Registered, secret = client.clientSecret) {
  const config = await oidc.discovery(
    new URL(t.url),
    client.clientId,
    undefined,
    secret === null ? oidc.None() : oidc.ClientSecretBasic(secret),
    { execute: [oidc.allowInsecureRequests] },
  );
  // Verify the ID token's signature against the discovered JWKS too (not only TLS trust).
  oidc.enableNonRepudiationChecks(config);
  return config;
}

interface Authorization {
  callback: URL;
  verifier: string;
  state: string;
  /** How many times our login form was shown on the way. */
  loginForms: number;
}

/**
 * A browser walking an authorization request: our /login form when it is shown (filled with
 * `account`), every redirect followed, stopping at the client's redirect URI (not visited).
 */
async function authorize(
  browser: Browser,
  config: oidc.Configuration,
  client: Registered,
  account: { login: string; password: string } | null,
  extra: Record<string, string> = {},
): Promise<Authorization> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: client.redirectUri,
    scope: 'openid profile email phone',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  let next = url.href;
  let loginForms = 0;
  for (let hop = 0; hop < 12; hop++) {
    if (next.startsWith(client.redirectUri))
      return { callback: new URL(next), verifier, state, loginForms };
    const response = await browser.get(next);
    const current = new URL(next, t.url);
    if (response.status === 200 && current.pathname === '/login') {
      const html = await response.text();
      loginForms += 1;
      if (!account) throw new Error('the login form was shown');
      expect(html).toContain('Вход в приложение «');
      const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
      const returnTo = current.searchParams.get('returnTo')!;
      const posted = await browser.postForm('/login', {
        csrf,
        returnTo,
        login: account.login,
        password: account.password,
      });
      next = new URL(Browser.location(posted), t.url).href;
      continue;
    }
    if (response.status < 300 || response.status > 399)
      throw new Error(
        `unexpected ${response.status} at ${current.pathname}: ${(await response.text()).slice(0, 300)}`,
      );
    next = new URL(Browser.location(response), t.url).href;
  }
  throw new Error('too many redirects');
}

describe('OpenID Provider: authorization code + PKCE', () => {
  it("an RP built with openid-client completes code + PKCE with a password login, validates the ID token against discovery's JWKS and reads UserInfo", async () => {
    const account = await register(t, uniqueLogin('rp'), STRONG_PASSWORD);
    const client = await registerClient({ name: 'Электронный дневник' });
    const config = await relyingParty(client);
    const browser = new Browser(t.url);

    const { callback, verifier, state, loginForms } = await authorize(
      browser,
      config,
      client,
      account,
    );
    expect(loginForms).toBe(1);
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

  it('a second client signs the same person in without a login form (single sign-on)', async () => {
    const account = await register(t, uniqueLogin('sso'), STRONG_PASSWORD);
    const diary = await registerClient({ name: 'Электронный дневник' });
    const backOffice = await registerClient({ name: 'ПОС', isPublic: true });
    const browser = new Browser(t.url);

    const first = await authorize(browser, await relyingParty(diary), diary, account);
    expect(first.loginForms).toBe(1);

    const config = await relyingParty(backOffice);
    const second = await authorize(browser, config, backOffice, null);
    expect(second.loginForms).toBe(0);
    const tokens = await oidc.authorizationCodeGrant(config, second.callback, {
      pkceCodeVerifier: second.verifier,
      expectedState: second.state,
    });
    expect(tokens.claims()).toMatchObject({ sub: account.id, aud: backOffice.clientId });
  });

  it('a person logged in here before any application asks signs in without a form', async () => {
    const account = await register(t, uniqueLogin('pre'), STRONG_PASSWORD);
    const client = await registerClient();
    const browser = new Browser(t.url);
    const loggedIn = await browser.postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    expect(loggedIn.status).toBe(200);
    const { loginForms } = await authorize(browser, await relyingParty(client), client, null);
    expect(loginForms).toBe(0);
  });
});
