import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { type AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import request from 'supertest';
import { AccountToken, AccountTokenPurpose } from '../src/accounts/account-token.entity.js';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { secretDigest } from '../src/common/secrets.js';
import { ClientsService } from '../src/provider/clients.service.js';
import { User, UserStatus } from '../src/identity/user.entity.js';
import { OidcSessionLink } from '../src/provider/oidc-session-link.entity.js';
import { AccountStatus } from '../src/sessions/account-status.service.js';
import { SessionManagement } from '../src/sessions/session-management.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { launchChromium, see, watchConsole } from './support/chromium.js';
import { runCli } from './support/cli.js';
import { login, register, STRONG_PASSWORD, uniqueLogin } from './support/http.js';
import { authorize, type Registered, registerClient, relyingParty } from './support/provider.js';
import { LogoutReceiver, signIn } from './support/provider-logout.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * Logout that reaches every application (issue 17): the provider's session is ours. Ending ours,
 * whichever way, revokes what it granted and sends a back-channel logout token to each client it
 * signed in to, through the durable queue; a client's RP-initiated logout ends ours.
 */

/** Retries in about a second, so a client that was down is reached within the test. */
const FAST_RETRIES = {
  THROTTLE_AUTH_LIMIT: '100000',
  OIDC_LOGOUT_RETRY_DELAY: '1s',
  OIDC_LOGOUT_RETRY_DELAY_MAX: '1s',
  OIDC_LOGOUT_TIMEOUT: '2s',
};

let t: TestApp;
const receivers: LogoutReceiver[] = [];
beforeAll(async () => {
  t = await startTestApp(FAST_RETRIES, { listen: true });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await Promise.all(receivers.map((receiver) => receiver.close()));
  await t.close();
});

interface Application {
  client: Registered;
  config: oidc.Configuration;
  receiver: LogoutReceiver;
}

/** A registered application with its own back-channel logout endpoint, listening. */
async function application(
  app: TestApp = t,
  extra: { postLogoutRedirectUris?: string[] } = {},
): Promise<Application> {
  const receiver = await new LogoutReceiver(app.url).open();
  receivers.push(receiver);
  const client = await registerClient(app, { backchannelLogoutUri: receiver.url, ...extra });
  receiver.audience = client.clientId;
  return { client, config: await relyingParty(app, client), receiver };
}

/** A person signed in to two applications from one browser (the second by single sign-on). */
async function signedInTwice(app: TestApp = t) {
  const account = await register(app, uniqueLogin('bcl'), STRONG_PASSWORD);
  const browser = new Browser(app.url);
  const diary = await application(app);
  const office = await application(app);
  const first = await signIn(browser, diary.config, diary.client, account);
  const second = await signIn(browser, office.config, office.client, account);
  return { account, browser, diary, office, first, second };
}

async function expectLogoutTokens(
  account: { id: string },
  deliveries: { app: Application; sid: string }[],
) {
  for (const { app, sid } of deliveries) {
    const claims = await app.receiver.logoutFor(sid);
    expect(claims).toMatchObject({ iss: t.url, aud: app.client.clientId, sub: account.id, sid });
  }
}

function inContext<T>(work: () => Promise<T>): Promise<T> {
  const orm = t.app.get(MikroORM);
  return RequestContext.create(orm.em, work);
}

/** «Выйти» in the browser, sent to `base` (one instance of the deployment at PUBLIC_URL `origin`). */
async function browserLogout(browser: Browser, base = t.url, origin = t.url) {
  const response = await browser.request(new URL('/api/v1/auth/logout', base).href, {
    method: 'POST',
    headers: { origin },
  });
  expect(response.status).toBe(204);
}

type Person = Awaited<ReturnType<typeof signedInTwice>>;

const TRIGGERS: [string, (person: Person) => Promise<void>][] = [
  ['logging out here', async ({ browser }) => browserLogout(browser)],
  [
    'a password reset',
    async ({ account }) => {
      const email = `${account.login}@example.ru`;
      await t.em().nativeUpdate(User, { id: account.id }, { email });
      const token = randomBytes(32).toString('base64url');
      const em = t.em();
      em.persist(
        Object.assign(new AccountToken(), {
          user: em.getReference(User, account.id),
          purpose: AccountTokenPurpose.Recovery,
          tokenHash: secretDigest(token),
          email,
          expiresAt: new Date(Date.now() + 3_600_000),
        }),
      );
      await em.flush();
      await request(t.http)
        .post('/api/v1/auth/recovery/password')
        .send({ token, newPassword: 'Zvezda#2027y', newPasswordRepeat: 'Zvezda#2027y' })
        .expect(204);
    },
  ],
  [
    '«Завершить все сеансы» (an administrator ends the person’s sessions)',
    async ({ account }) => {
      const user = await t.em().findOneOrFail(User, account.id);
      await inContext(() =>
        t.app.get(SessionManagement).endRecorded(user, 'ended_by_admin', {}, () => null),
      );
    },
  ],
  [
    '«Завершить все остальные сеансы» on another device',
    async ({ account }) => {
      const other = await login(t, account, 'another-device');
      await request(t.http)
        .delete('/api/v1/me/sessions')
        .set('Cookie', other.cookie)
        .set('Origin', t.url)
        .expect(200);
    },
  ],
  [
    'archiving the account',
    async ({ account }) => {
      await inContext(() =>
        t.app.get(AccountStatus).change(account.login, UserStatus.Archived, 'cli'),
      );
    },
  ],
  [
    'user:block (command line)',
    async ({ account }) => {
      const run = await runCli(t.database.url, ['user:block', '--login', account.login]);
      expect(run.code).toBe(0);
    },
  ],
];

describe('back-channel logout: ending our session ends the applications’ sessions', () => {
  it.each(TRIGGERS)(
    'back-channel logout: logging out here delivers a valid logout token to each client the session used — %s',
    async (_name, trigger) => {
      const person = await signedInTwice();
      expect(person.first.sid).toBeTruthy();
      await trigger(person);
      await expectLogoutTokens(person.account, [
        { app: person.diary, sid: person.first.sid },
        { app: person.office, sid: person.second.sid },
      ]);
      // Taken once: nothing is left to end, and each client heard exactly once.
      expect(await t.em().count(OidcSessionLink, { accountId: person.account.id })).toBe(0);
      expect(person.diary.receiver.received).toHaveLength(1);
      expect(person.office.receiver.received).toHaveLength(1);
    },
    60_000,
  );

  it('back-channel logout: another person logging in in the same browser ends the first person’s applications', async () => {
    const person = await signedInTwice();
    const next = await register(t, uniqueLogin('next'), STRONG_PASSWORD);
    const response = await person.browser.request('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: t.url },
      body: JSON.stringify({ login: next.login, password: next.password }),
    });
    expect(response.status).toBe(200);
    await expectLogoutTokens(person.account, [
      { app: person.diary, sid: person.first.sid },
      { app: person.office, sid: person.second.sid },
    ]);
  });

  it('a client that was down receives the logout token after it comes back', async () => {
    const person = await signedInTwice();
    await person.diary.receiver.close();
    await browserLogout(person.browser);
    // The other client hears at once; the one that is down fails, is audited, and is retried.
    await expectLogoutTokens(person.account, [{ app: person.office, sid: person.second.sid }]);
    for (let i = 0; i < 100; i++) {
      const failed = await t
        .em()
        .count(AuditEvent, { type: 'oidc.backchannel.failed', targetUserId: person.account.id });
      if (failed > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const failures = await t
      .em()
      .find(AuditEvent, { type: 'oidc.backchannel.failed', targetUserId: person.account.id });
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0].details).toMatchObject({ clientId: person.diary.client.clientId });
    await person.diary.receiver.open();
    await expectLogoutTokens(person.account, [{ app: person.diary, sid: person.first.sid }]);
  }, 60_000);

  it('introspection says active:false at once for a token whose session ended here', async () => {
    const person = await signedInTwice();
    const token = person.first.tokens.access_token;
    await expect(oidc.tokenIntrospection(person.diary.config, token)).resolves.toMatchObject({
      active: true,
      sub: person.account.id,
    });
    await browserLogout(person.browser);
    // No waiting for the queue: the grant went in the transaction that ended the session.
    await expect(oidc.tokenIntrospection(person.diary.config, token)).resolves.toMatchObject({
      active: false,
    });
    await expect(
      oidc.fetchUserInfo(person.diary.config, token, person.account.id),
    ).rejects.toThrow();
  });
});

/** Follows the end-session request to our confirmation page; returns its form's xsrf. */
async function logoutPage(browser: Browser, url: URL) {
  const page = await browser.get(url.href);
  const html = await page.text();
  return { status: page.status, html, xsrf: /name="xsrf" value="([^"]+)"/.exec(html)?.[1] };
}

describe('RP-initiated logout', () => {
  it('RP-initiated logout ends the session here and notifies the other client', async () => {
    const account = await register(t, uniqueLogin('rpl'), STRONG_PASSWORD);
    const browser = new Browser(t.url);
    const back = 'http://127.0.0.1:9/after-logout';
    const diary = await application(t, { postLogoutRedirectUris: [back] });
    const office = await application(t);
    const first = await signIn(browser, diary.config, diary.client, account);
    const second = await signIn(browser, office.config, office.client, account);
    const discovery = diary.config.serverMetadata();
    expect(discovery.end_session_endpoint).toBe(`${t.url}/oidc/session/end`);
    expect(discovery.backchannel_logout_supported).toBe(true);

    const end = oidc.buildEndSessionUrl(diary.config, {
      id_token_hint: first.tokens.id_token!,
      post_logout_redirect_uri: back,
      state: 'st-1',
    });
    const { status, html, xsrf } = await logoutPage(browser, end);
    expect(status).toBe(200);
    expect(html).toContain('Выйти из Identity Link');
    expect(html).toContain('Электронный дневник');
    const confirmed = await browser.postForm('/oidc/session/end/confirm', {
      xsrf: xsrf!,
      logout: 'yes',
    });
    // A page that moves on by itself to the registered URI, not a redirect (our CSP form-action).
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('refresh')).toBe(`0;url=${back}?state=st-1`);
    // Our session is over: the cookie cleared and the session revoked.
    expect(browser.cookies.has(t.config.session.cookieName)).toBe(false);
    await expectLogoutTokens(account, [
      { app: office, sid: second.sid },
      { app: diary, sid: first.sid },
    ]);
    await expect(
      oidc.tokenIntrospection(office.config, second.tokens.access_token),
    ).resolves.toMatchObject({ active: false });
  });

  it('an open redirect through post_logout_redirect_uri is refused', async () => {
    const account = await register(t, uniqueLogin('orl'), STRONG_PASSWORD);
    const browser = new Browser(t.url);
    const diary = await application(t, {
      postLogoutRedirectUris: ['http://127.0.0.1:9/diary-after'],
    });
    const office = await application(t, {
      postLogoutRedirectUris: ['http://127.0.0.1:9/office-after'],
    });
    const { tokens } = await signIn(browser, diary.config, diary.client, account);
    for (const uri of ['https://evil.example/', 'http://127.0.0.1:9/office-after']) {
      const end = oidc.buildEndSessionUrl(diary.config, {
        id_token_hint: tokens.id_token!,
        post_logout_redirect_uri: uri,
      });
      const answer = await browser.get(end.href);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('location')).toBeNull();
      expect(await answer.text()).toContain('post_logout_redirect_uri not registered');
    }
    // Nothing ended.
    expect((await browser.get('/api/v1/me')).status).toBe(200);
    expect(office.receiver.received).toHaveLength(0);
  });

  it('a forged id_token_hint at end_session is refused', async () => {
    const account = await register(t, uniqueLogin('fih'), STRONG_PASSWORD);
    const browser = new Browser(t.url);
    const diary = await application(t, { postLogoutRedirectUris: ['http://127.0.0.1:9/after'] });
    const { sid } = await signIn(browser, diary.config, diary.client, account);
    const attacker = await generateKeyPair('ES256');
    const forged = await new SignJWT({ sid })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(t.url)
      .setAudience(diary.client.clientId)
      .setSubject(account.id)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(attacker.privateKey);
    const end = new URL(`${t.url}/oidc/session/end`);
    end.searchParams.set('id_token_hint', forged);
    end.searchParams.set('post_logout_redirect_uri', 'http://127.0.0.1:9/after');
    const answer = await browser.get(end.href);
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain('id_token_hint');
    expect((await browser.get('/api/v1/me')).status).toBe(200);
    expect(diary.receiver.received).toHaveLength(0);
  });
});

describe('RP-initiated logout in a real browser', () => {
  it('a real browser (Chromium) confirms the logout on our page and gets back to the application: our CSP lets it through', async () => {
    // The application: a callback and a post-logout page of its own, on another origin than ours.
    const site = createServer((_req, res) => res.end('application'));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const chromium = await launchChromium();
    try {
      const receiver = await new LogoutReceiver(t.url).open();
      receivers.push(receiver);
      const { client, clientSecret } = await t.app.get(ClientsService).create({
        name: 'Электронный дневник',
        redirectUris: [`${origin}/callback`],
        postLogoutRedirectUris: [`${origin}/after-logout`],
        backchannelLogoutUri: receiver.url,
        firstParty: true,
      });
      receiver.audience = client.clientId;
      const registered = {
        clientId: client.clientId,
        clientSecret,
        redirectUri: `${origin}/callback`,
      };
      const config = await relyingParty(t, registered);
      const account = await register(t, uniqueLogin('chr'), STRONG_PASSWORD);
      const verifier = oidc.randomPKCECodeVerifier();
      const page = await chromium.newPage();
      const problems = watchConsole(page);
      await page.goto(
        oidc.buildAuthorizationUrl(config, {
          redirect_uri: registered.redirectUri,
          scope: 'openid',
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state: 'chromium',
        }).href,
      );
      await page.getByLabel('Логин').fill(account.login);
      await page.getByLabel('Пароль', { exact: true }).fill(account.password);
      await page.getByRole('button', { name: 'Войти', exact: true }).click();
      await page.waitForURL(`${origin}/callback?**`);
      const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), {
        pkceCodeVerifier: verifier,
        expectedState: 'chromium',
      });
      const sid = tokens.claims()!.sid as string;

      await page.goto(
        oidc.buildEndSessionUrl(config, {
          id_token_hint: tokens.id_token!,
          post_logout_redirect_uri: `${origin}/after-logout`,
          state: 'bye',
        }).href,
      );
      await see.contains(page.locator('main'), 'Электронный дневник');
      await page.getByRole('button', { name: 'Выйти', exact: true }).click();
      await page.waitForURL(`${origin}/after-logout?state=bye`);
      await receiver.logoutFor(sid);
      const cookies = await page.context().cookies(t.url);
      expect(cookies.map((cookie) => cookie.name)).not.toContain(t.config.session.cookieName);
      expect(problems).toEqual([]);
    } finally {
      await chromium.close();
      site.close();
    }
  }, 60_000);
});

describe('back-channel logout: several instances', () => {
  it('two instances: authorize on A, token exchange on B, logout on B delivered', async () => {
    const key = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    const shared = {
      ...FAST_RETRIES,
      TOKEN_SIGNING_KEY: JSON.stringify(key),
      OIDC_COOKIE_KEYS: 'a-shared-cookie-key-of-at-least-32-characters',
    };
    const a = await startTestApp(shared, { listen: true });
    const b = await startTestApp(
      { ...shared, PUBLIC_URL: a.url },
      { listen: true, database: a.database },
    );
    try {
      const bUrl = `http://127.0.0.1:${(b.http.address() as AddressInfo).port}`;
      const diary = await application(a);
      const account = await register(a, uniqueLogin('ab'), STRONG_PASSWORD);
      const browser = new Browser(a.url);
      const { callback, verifier, state } = await authorize(
        browser,
        diary.config,
        diary.client,
        account,
      );
      const servedByB: string[] = [];
      diary.config[oidc.customFetch] = (url, options) => {
        const rewritten = url.replace(a.url, bUrl);
        servedByB.push(new URL(rewritten).pathname);
        return fetch(rewritten, options as RequestInit);
      };
      const tokens = await oidc.authorizationCodeGrant(diary.config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      expect(servedByB).toContain('/oidc/token');
      const sid = tokens.claims()!.sid as string;
      await browserLogout(browser, bUrl, a.url);
      const claims = await diary.receiver.logoutFor(sid);
      expect(claims).toMatchObject({ iss: a.url, aud: diary.client.clientId, sub: account.id });
    } finally {
      await b.close();
      await a.close();
    }
  }, 120_000);
});
