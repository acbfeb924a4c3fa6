import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPair, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { User } from '../src/identity/user.entity.js';
import { Membership, MembershipStatus } from '../src/pos/membership.entity.js';
import { Organization } from '../src/pos/organization.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { linkThrough, loggedInBrowser } from './support/gosuslugi.js';
import { memberBrowser, organization } from './support/pos.js';
import {
  authorize,
  clientPost,
  loggedIn,
  registerClient,
  relyingParty,
  type Registered,
  walkAuthorization,
} from './support/provider.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';
import { waitUntil } from './support/wait.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000' }, { listen: true });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

/** A person signed in to a confidential first-party client: its configuration and first tokens. */
async function signedIn(scope = 'openid profile') {
  const { browser, account } = await loggedIn(t);
  const client = await registerClient(t);
  const config = await relyingParty(t, client);
  const { callback, verifier, state } = await authorize(browser, config, client, null, { scope });
  const tokens = await oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  return { browser, account, client, config, tokens };
}

/** The OAuth error code of a refused openid-client call. */
async function oauthError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return (error as { error?: string; code?: string }).error ?? String(error);
  }
  throw new Error('the call succeeded');
}

async function introspect(client: Registered, token: string): Promise<Record<string, unknown>> {
  const response = await clientPost(t, client, '/oidc/token/introspection', { token });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe('OpenID Provider: refresh tokens', () => {
  it('refresh rotation: the new refresh token works, the old one fails, and reusing it revokes the grant (the newest refresh token then fails too)', async () => {
    const { account, client, config, tokens } = await signedIn();
    const first = tokens.refresh_token;
    expect(first).toEqual(expect.any(String));

    const second = await oidc.refreshTokenGrant(config, first!);
    expect(second.refresh_token).toEqual(expect.any(String));
    expect(second.refresh_token).not.toBe(first);
    expect(second.claims()).toMatchObject({ sub: account.id, acr: 'pwd' });

    // The new one works (and is rotated in turn).
    const third = await oidc.refreshTokenGrant(config, second.refresh_token!);
    await expect(oidc.fetchUserInfo(config, third.access_token, account.id)).resolves.toMatchObject(
      { sub: account.id },
    );

    // The old one is refused, and its reuse is taken for theft: the whole grant goes.
    expect(await oauthError(oidc.refreshTokenGrant(config, first!))).toBe('invalid_grant');
    expect(await oauthError(oidc.refreshTokenGrant(config, third.refresh_token!))).toBe(
      'invalid_grant',
    );
    await expect(oidc.fetchUserInfo(config, third.access_token, account.id)).rejects.toThrow();

    const reuses = () =>
      t.em().find(AuditEvent, { type: 'oidc.refresh.reused', targetUserId: account.id });
    await waitUntil(async () => (await reuses()).length > 0);
    const [event] = await reuses();
    expect(event.details).toMatchObject({ clientId: client.clientId });
  });

  it('a public client gets no refresh token (it signs in again through single sign-on)', async () => {
    const { browser } = await loggedIn(t);
    const client = await registerClient(t, { isPublic: true });
    const config = await relyingParty(t, client);
    const { callback, verifier, state } = await authorize(browser, config, client, null);
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.access_token).toEqual(expect.any(String));
    expect(tokens.refresh_token).toBeUndefined();
  });

  it('refresh and access tokens die with the session of ours they came from, even while the provider keeps its own session', async () => {
    const { browser, account, client, config, tokens } = await signedIn();
    expect((await browser.postJson('/api/v1/auth/logout', {})).status).toBe(204);
    expect(browser.cookies.has('il_oidc_session')).toBe(true);

    expect(await oauthError(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toBe(
      'invalid_grant',
    );
    await expect(oidc.fetchUserInfo(config, tokens.access_token, account.id)).rejects.toThrow();
    await expect(introspect(client, tokens.access_token)).resolves.toEqual({ active: false });

    // Logging in again here does not bring the old tokens back: they belong to the ended session.
    const again = await browser.postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    expect(again.status).toBe(200);
    expect(await oauthError(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toBe(
      'invalid_grant',
    );
  });

  it("a refresh is the person's activity: it extends our session's idle expiry", async () => {
    const { account, config, tokens } = await signedIn();
    const connection = t.em().getConnection();
    await connection.execute(
      `update sessions set last_seen_at = now() - interval '5 minutes',
         idle_expires_at = now() + interval '1 minute'
       where user_id = ? and revoked_at is null`,
      [account.id],
    );
    await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    const [{ minutes }] = await connection.execute<{ minutes: string }[]>(
      `select extract(epoch from idle_expires_at - now()) / 60 as minutes
         from sessions where user_id = ? and revoked_at is null`,
      [account.id],
    );
    expect(Number(minutes)).toBeGreaterThan(20);
  });
});

describe('OpenID Provider: introspection and revocation', () => {
  it('advertises introspection and revocation in discovery, for authenticated clients', async () => {
    const metadata = (await (
      await fetch(`${t.url}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      introspection_endpoint: `${t.url}/oidc/token/introspection`,
      revocation_endpoint: `${t.url}/oidc/token/revocation`,
      grant_types_supported: expect.arrayContaining(['authorization_code', 'refresh_token']),
    });
    const { tokens } = await signedIn();
    const anonymous = await fetch(`${t.url}/oidc/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token }).toString(),
    });
    expect(anonymous.status).toBe(400);
    expect(((await anonymous.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('introspection of a live access token is active with sub, client_id and scope; after revocation it is not', async () => {
    const { account, client, config, tokens } = await signedIn('openid profile');
    const live = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(live).toMatchObject({
      active: true,
      sub: account.id,
      client_id: client.clientId,
      scope: 'openid profile',
    });
    await expect(oidc.tokenIntrospection(config, tokens.refresh_token!)).resolves.toMatchObject({
      active: true,
      sub: account.id,
      client_id: client.clientId,
    });

    await oidc.tokenRevocation(config, tokens.access_token);
    await expect(oidc.tokenIntrospection(config, tokens.access_token)).resolves.toEqual({
      active: false,
    });
    await oidc.tokenRevocation(config, tokens.refresh_token!);
    expect(await oauthError(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toBe(
      'invalid_grant',
    );
  });

  it("a client cannot introspect or revoke another client's token", async () => {
    const { account, config, tokens } = await signedIn();
    const other = await registerClient(t, { name: 'Другое приложение' });
    await expect(introspect(other, tokens.access_token)).resolves.toEqual({ active: false });
    await expect(introspect(other, tokens.refresh_token!)).resolves.toEqual({ active: false });

    const revoked = await clientPost(t, other, '/oidc/token/revocation', {
      token: tokens.access_token,
    });
    expect(revoked.status).toBe(200);
    // Still the owner's: nothing was revoked.
    await expect(
      oidc.fetchUserInfo(config, tokens.access_token, account.id),
    ).resolves.toMatchObject({ sub: account.id });
  });
});

describe('OpenID Provider: acr gosuslugi', () => {
  it('acr_values=gosuslugi refuses a password-only session and sends the person to Госуслуги', async () => {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, 1000000004)).status).toBe(303);
    const client = await registerClient(t, { name: 'ПОС' });
    const config = await relyingParty(t, client);

    // The same browser, logged in with the password: single sign-on would answer at once.
    const { callback, verifier, state, loginPages } = await authorize(
      browser,
      config,
      client,
      { gosuslugi: 1000000004 },
      { acr_values: 'gosuslugi' },
    );
    expect(loginPages).toHaveLength(1);
    expect(loginPages[0].searchParams.get('notice')).toBe('gosuslugi_required');
    const page = await (await browser.get(loginPages[0].href)).text();
    expect(page).toContain('Это приложение принимает только вход через Госуслуги');

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.claims()).toMatchObject({ sub: id, acr: 'gosuslugi', amr: ['gosuslugi'] });
  });

  it('a client registered with --acr gosuslugi needs Госуслуги whatever the request says; prompt=none gets login_required', async () => {
    const { browser } = await loggedIn(t);
    const client = await registerClient(t, { name: 'ПОС', requiredAcr: 'gosuslugi' });
    const config = await relyingParty(t, client);
    const silent = await authorize(browser, config, client, null, {
      acr_values: 'pwd',
      prompt: 'none',
    });
    expect(silent.callback.searchParams.get('error')).toBe('login_required');
    expect(silent.callback.searchParams.get('code')).toBeNull();

    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: client.redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      acr_values: 'pwd',
    });
    const interaction = Browser.location(await browser.get(url.href));
    const login = new URL(Browser.location(await browser.get(interaction)), t.url);
    expect(login.pathname).toBe('/login');
    expect(login.searchParams.get('notice')).toBe('gosuslugi_required');
  });

  it('acr_values that accept a password (pwd gosuslugi) are answered from a password session', async () => {
    const { browser } = await loggedIn(t);
    const client = await registerClient(t);
    const config = await relyingParty(t, client);
    const { loginPages, callback } = await authorize(browser, config, client, null, {
      acr_values: 'pwd gosuslugi',
    });
    expect(loginPages).toHaveLength(0);
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
  });
});

describe('OpenID Provider: scopes and claims', () => {
  it('profile gives the ФИО and login, email only a verified address, phone the number', async () => {
    const { browser, account } = await loggedIn(t);
    const em = t.em();
    await em.nativeUpdate(
      User,
      { id: account.id },
      {
        lastName: 'Иванова',
        firstName: 'Анна',
        middleName: 'Петровна',
        email: `${account.login}@example.ru`,
        phone: '+79001234567',
      },
    );
    const client = await registerClient(t);
    const config = await relyingParty(t, client);
    const { callback, verifier, state } = await authorize(browser, config, client, null, {
      scope: 'openid profile email phone',
    });
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    // The ID token issued with an access token carries the openid claims (conformIdTokenClaims).
    expect(tokens.claims()).toMatchObject({ sub: account.id, acr: 'pwd', amr: ['pwd'] });
    expect(tokens.claims()!.name).toBeUndefined();
    await expect(oidc.fetchUserInfo(config, tokens.access_token, account.id)).resolves.toEqual({
      sub: account.id,
      name: 'Иванова Анна Петровна',
      family_name: 'Иванова',
      given_name: 'Анна',
      middle_name: 'Петровна',
      preferred_username: account.login,
      email: `${account.login}@example.ru`,
      email_verified: true,
      phone_number: '+79001234567',
      phone_number_verified: false,
    });
  });

  it('the pos scope lists the memberships: a confirmed one with its roles, an unconfirmed one with none', async () => {
    const em = t.em();
    const authority = await organization(em, 'Управление образования', null);
    const school = await organization(em, 'Школа № 1', authority);
    const { browser, user } = await memberBrowser(t, authority, ['moderator', 'executor']);
    // A second account, accepted but not yet confirmed (the first-login checkboxes pending).
    const fork = em.fork();
    fork.persist(
      Object.assign(new Membership(), {
        organization: fork.getReference(Organization, school.id),
        email: `pos.${user.id}@example.ru`,
        lastName: 'Тестова',
        firstName: 'Мария',
        roles: ['admin'],
        status: MembershipStatus.Registered,
        user: fork.getReference(User, user.id),
      }),
    );
    await fork.flush();
    const [authorityRow, schoolRow] = await Promise.all(
      [authority.id, school.id].map((id) => em.fork().findOneOrFail(Organization, id)),
    );
    const client = await registerClient(t, { name: 'ПОС' });
    const config = await relyingParty(t, client);
    const { callback, verifier, state } = await authorize(browser, config, client, null, {
      scope: 'openid pos',
    });
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, user.id);
    expect(userinfo.pos_memberships).toEqual(
      expect.arrayContaining([
        {
          organization_id: authority.id,
          lko_number: String(authorityRow.lkoNumber),
          roles: ['moderator', 'executor'],
          confirmed: true,
        },
        {
          organization_id: school.id,
          lko_number: String(schoolRow.lkoNumber),
          roles: [],
          confirmed: false,
        },
      ]),
    );
    expect(userinfo.pos_memberships).toHaveLength(2);
    // Without the scope, no memberships.
    const other = await authorize(browser, config, client, null, { scope: 'openid profile' });
    const plain = await oidc.authorizationCodeGrant(config, other.callback, {
      pkceCodeVerifier: other.verifier,
      expectedState: other.state,
    });
    expect(
      (await oidc.fetchUserInfo(config, plain.access_token, user.id)).pos_memberships,
    ).toBeUndefined();
    expect(config.serverMetadata().scopes_supported).toContain('pos');
    expect(config.serverMetadata().claims_supported).toContain('pos_memberships');
  });
});

describe('OpenID Provider: conformance negatives', () => {
  it('refuses an expired authorization code (OIDC_CODE_TTL)', async () => {
    const short = await startTestApp(
      { OIDC_CODE_TTL: '1s', THROTTLE_AUTH_LIMIT: '100000' },
      { listen: true },
    );
    try {
      const { browser } = await loggedIn(short);
      const client = await registerClient(short);
      const config = await relyingParty(short, client);
      const { callback, verifier, state } = await authorize(browser, config, client, null);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      const error = await oauthError(
        oidc.authorizationCodeGrant(config, callback, {
          pkceCodeVerifier: verifier,
          expectedState: state,
        }),
      );
      expect(error).toBe('invalid_grant');
    } finally {
      await short.close();
    }
  });

  it('refuses the password grant (no ROPC) and client_credentials: unsupported_grant_type', async () => {
    const { account } = await loggedIn(t);
    const client = await registerClient(t);
    for (const body of <Record<string, string>[]>[
      { grant_type: 'password', username: account.login, password: account.password },
      { grant_type: 'client_credentials' },
    ]) {
      const response = await clientPost(t, client, '/oidc/token', body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('unsupported_grant_type');
    }
  });

  it('requires PKCE of a confidential client too, so no code is issued without a code_challenge (PKCE downgrade)', async () => {
    const { browser } = await loggedIn(t);
    const client = await registerClient(t);
    const config = await relyingParty(t, client);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: client.redirectUri,
      scope: 'openid',
      state: oidc.randomState(),
    });
    // The provider answers at the redirect URI with an error and no code.
    const { callback } = await walkAuthorization(browser, url.href, client.redirectUri, null);
    expect(callback.searchParams.get('code')).toBeNull();
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses response_mode form_post (our error page) and fragment (an error, no code): the code comes only in the query', async () => {
    const { browser } = await loggedIn(t);
    const client = await registerClient(t);
    const config = await relyingParty(t, client);
    const request = async (mode: string) => {
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: client.redirectUri,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        state: oidc.randomState(),
        response_mode: mode,
      });
      return browser.get(url.href);
    };
    // form_post's auto-submitted page would need an inline script our CSP forbids: our error page.
    const formPost = await request('form_post');
    expect(formPost.status).toBe(400);
    expect(formPost.headers.get('location')).toBeNull();
    const html = await formPost.text();
    expect(html).toContain('response_mode');
    expect(html).not.toContain('name="code"');
    // A fragment never reaches the client's server: the error goes back the way asked, no code.
    const fragment = await request('fragment');
    const location = new URL(Browser.location(fragment));
    expect(location.href.startsWith(client.redirectUri)).toBe(true);
    const answer = new URLSearchParams(location.hash.slice(1));
    expect(answer.get('error')).toBe('invalid_request');
    expect(answer.get('code')).toBeNull();
    const plain = await authorize(browser, config, client, null);
    expect(plain.callback.searchParams.get('code')).toBeTruthy();
  });

  it('refuses an id_token_hint signed by another key', async () => {
    const { browser, account } = await loggedIn(t);
    const client = await registerClient(t);
    const config = await relyingParty(t, client);
    // Our key's kid and algorithm, another key's signature.
    const jwks = (await (await fetch(`${t.url}/oidc/jwks`)).json()) as { keys: { kid: string }[] };
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sub: account.id })
      .setProtectedHeader({ alg: 'ES256', kid: jwks.keys[0].kid })
      .setIssuer(t.url)
      .setAudience(client.clientId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const { callback } = await authorize(browser, config, client, null, {
      id_token_hint: forged,
      prompt: 'none',
    });
    expect(callback.searchParams.get('error')).toBe('invalid_request');
    expect(callback.searchParams.get('error_description')).toContain('id_token_hint');
    expect(callback.searchParams.get('code')).toBeNull();
  });

  it('refuses prompt=none with an id_token_hint of another person (login_required, no code)', async () => {
    const client = await registerClient(t);
    const config = await relyingParty(t, client);
    // A genuine ID token, of someone else.
    const someoneElse = await loggedIn(t);
    const theirs = await authorize(someoneElse.browser, config, client, null);
    const theirTokens = await oidc.authorizationCodeGrant(config, theirs.callback, {
      pkceCodeVerifier: theirs.verifier,
      expectedState: theirs.state,
    });

    const { browser } = await loggedIn(t);
    const { callback } = await authorize(browser, config, client, null, {
      id_token_hint: theirTokens.id_token!,
      prompt: 'none',
    });
    expect(callback.searchParams.get('error')).toBe('login_required');
    expect(callback.searchParams.get('code')).toBeNull();
  });
});
