import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import pg from 'pg';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { LoginTransaction } from '../src/gosuslugi/login-transaction.entity.js';
import { type StandInFault, GosuslugiStandIn } from '../src/dev/gosuslugi-stand-in.js';
import { FederatedIdentity } from '../src/identity/federated-identity.entity.js';
import { PersonalDataKey } from '../src/identity/personal-data-key.service.js';
import { User } from '../src/identity/user.entity.js';
import { MailMessage } from '../src/mail/mail-message.entity.js';
import { AuthMethod, Session } from '../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import {
  ageAuthentication as ageAuthenticationOf,
  confirmationState,
  confirmLink,
  followToPage,
  forgetStandInSession,
  linkThrough,
  loggedInBrowser,
  pageLogout,
  throughStandIn,
} from './support/gosuslugi.js';
import { TestSmtp } from './support/smtp.js';
import { waitForLockWaiter } from './support/wait.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

const smtp = new TestSmtp();
let t: TestApp;
beforeAll(async () => {
  await smtp.start();
  // The stand-in releases e-mail and SNILS too, so «never matched by e-mail» is really exercised.
  t = await startTestApp(
    {
      THROTTLE_AUTH_LIMIT: '100000',
      THROTTLE_LIMIT: '100000',
      GOSUSLUGI_SCOPES: 'openid fullname email snils',
      SMTP_URL: smtp.url,
    },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
  await smtp.stop();
});
// Every test starts with no links, whatever the previous one left behind.
afterEach(async () => {
  await t.em().nativeDelete(FederatedIdentity, {});
});

// Each test uses its own test person so links made by one do not affect another.
const PERSON = {
  linkFlow: 1000000001,
  state: 1000000002,
  csrf: 1000000003,
  tokens: 1000000004,
  misc: 1000000005,
};

const identitiesOf = (userId: string) => t.em().count(FederatedIdentity, { user: userId });
const identitiesOfPerson = (oid: number) =>
  t.em().count(FederatedIdentity, { subject: String(oid) });
const me = async (browser: Browser) =>
  (await browser.get('/api/v1/me')).json() as Promise<Record<string, unknown>>;

describe('link, log out, log in through Госуслуги', () => {
  it('links an account, then logs in through Госуслуги into the same account', async () => {
    const { browser, id } = await loggedInBrowser(t);

    const linked = await linkThrough(browser, PERSON.linkFlow);
    expect(linked.status).toBe(303);
    expect(linked.headers.get('location')).toBe('/account?gosuslugi=linked');

    const profile = await me(browser);
    expect(profile.identities).toEqual([
      expect.objectContaining({
        provider: 'gosuslugi',
        displayName: 'Иванова Мария Сергеевна',
        trusted: true,
        linkedAt: expect.any(String),
      }),
    ]);
    expect(profile).toMatchObject({
      lastName: 'Иванова',
      firstName: 'Мария',
      middleName: 'Сергеевна',
    });
    const identity = await t.em().findOneOrFail(FederatedIdentity, { user: id });
    expect(identity).toMatchObject({
      issuer: t.config.gosuslugi.issuer,
      subject: String(PERSON.linkFlow),
      provider: 'gosuslugi',
    });
    // From UserInfo: the verified e-mail, and SNILS only as the keyed digest.
    expect(identity.claims).toMatchObject({
      email: 'ivanova.test@example.ru',
      snilsDigest: t.app.get(PersonalDataKey).snilsDigest('000-000-001 01'),
    });
    expect(JSON.stringify(identity.claims)).not.toContain('000-000-001');
    expect(await t.em().count(AuditEvent, { type: 'gosuslugi.linked', targetUserId: id })).toBe(1);

    expect((await browser.postJson('/api/v1/auth/logout', {})).status).toBe(204);
    expect((await browser.get('/api/v1/me')).status).toBe(401);

    const callback = await throughStandIn(
      browser,
      '/auth/gosuslugi/login?returnTo=/pos',
      PERSON.linkFlow,
    );
    const loggedIn = await browser.get(callback);
    expect(loggedIn.status).toBe(303);
    expect(loggedIn.headers.get('location')).toBe('/pos');
    expect((await me(browser)).id).toBe(id);
    const sessions = await t.em().find(Session, { user: id, revokedAt: null });
    expect(sessions.map((s) => s.method)).toEqual([AuthMethod.Gosuslugi]);
    expect(
      (await t.em().findOneOrFail(FederatedIdentity, { user: id })).lastLoginAt,
    ).not.toBeNull();
  });
});

describe('logout reaches the provider (RP-initiated logout)', () => {
  it("«Выйти» after a Госуслуги login goes through the provider's end_session_endpoint; the next «Войти через Госуслуги» asks who is logging in", async () => {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, PERSON.misc)).status).toBe(303);
    expect((await browser.postJson('/api/v1/auth/logout', {})).status).toBe(204);
    const callback = await browser.get(
      await throughStandIn(browser, '/auth/gosuslugi/login', PERSON.misc),
    );
    expect(callback.status).toBe(303);
    expect((await me(browser)).id).toBe(id);

    const out = await pageLogout(browser);
    const endSession = new URL(Browser.location(out));
    expect(endSession.href.startsWith(t.config.gosuslugi.issuer)).toBe(true);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(
      `${t.url}/login?notice=logged_out`,
    );
    expect((await browser.get('/api/v1/me')).status).toBe(401);
    // The provider asks to confirm (oidc-provider's default), on the stand-in's Russian page.
    const confirm = await browser.get(endSession.pathname + endSession.search);
    expect(confirm.status).toBe(200);
    const html = await confirm.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)![1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)![1];
    const done = await browser.postForm(new URL(action, t.url).pathname, { xsrf, logout: 'yes' });
    expect(Browser.location(done)).toBe(`${t.url}/login?notice=logged_out`);

    // The provider's session is gone: its login page asks again.
    const next = await followToPage(browser, '/auth/gosuslugi/login');
    expect(next.url.pathname).toMatch(/^\/dev\/gosuslugi\/interaction\//);
    expect(await next.response.text()).toContain('Госуслуги (тестовый стенд)');
  });

  it('without going through the provider, the same browser is logged straight back in (why «Выйти» must)', async () => {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, PERSON.misc)).status).toBe(303);
    expect((await browser.postJson('/api/v1/auth/logout', {})).status).toBe(204);
    const next = await followToPage(browser, '/auth/gosuslugi/login');
    expect(next.hops.some((hop) => hop.pathname.startsWith('/dev/gosuslugi/interaction/'))).toBe(
      false,
    );
    expect((await me(browser)).id).toBe(id);
  });

  it('«Выйти» from a password session stays on this service', async () => {
    const { browser } = await loggedInBrowser(t);
    expect(Browser.location(await pageLogout(browser))).toBe('/login?notice=logged_out');
  });
});

describe('login CSRF through Госуслуги: a cross-site start switches no account', () => {
  /** A browser that holds a Госуслуги session for PERSON.csrf's linked account but is signed out. */
  async function signedOutWithStandInSession() {
    const { browser, id } = await loggedInBrowser(t);
    expect((await linkThrough(browser, PERSON.csrf)).status).toBe(303);
    expect((await browser.postJson('/api/v1/auth/logout', {})).status).toBe(204);
    return { browser, id };
  }

  it('a cross-site GET /auth/gosuslugi/login gets the login page: no provider trip, no session', async () => {
    const { browser } = await signedOutWithStandInSession();
    const lured = await browser.request('/auth/gosuslugi/login?returnTo=/pos', {
      headers: { 'sec-fetch-site': 'cross-site', referer: 'https://evil.example/' },
    });
    expect(lured.status).toBe(303);
    expect(Browser.location(lured)).toBe('/login?returnTo=%2Fpos');
    const page = await browser.get(Browser.location(lured));
    expect(page.status).toBe(200);
    expect((await browser.get('/api/v1/me')).status).toBe(401);
  });

  it('a forged cross-site form to POST /auth/gosuslugi/login is refused', async () => {
    const { browser } = await signedOutWithStandInSession();
    const before = await t.em().count(LoginTransaction, {});
    const forged = await browser.postFormCrossSite('/auth/gosuslugi/login', {
      csrf: 'x'.repeat(43),
      returnTo: '/pos',
    });
    expect(forged.status).toBe(403);
    expect(await t.em().count(LoginTransaction, {})).toBe(before);
    expect((await browser.get('/api/v1/me')).status).toBe(401);
  });

  it("the login page's own form starts the round trip (and the stand-in session logs the person in)", async () => {
    const { browser, id } = await signedOutWithStandInSession();
    const { url } = await followToPage(browser, '/auth/gosuslugi/login?returnTo=/pos');
    expect(url.pathname).toBe('/pos');
    expect((await me(browser)).id).toBe(id);
  });
});

describe('callback state and browser binding', () => {
  it('refuses a callback without state, with a wrong state, and a replayed one: 400, no session, nothing linked', async () => {
    const { browser, id } = await loggedInBrowser(t);

    const withoutState = await throughStandIn(browser, '/auth/gosuslugi/link', PERSON.state);
    const stripped = new URL(withoutState, t.url);
    stripped.searchParams.delete('state');
    const missing = await browser.get(stripped.pathname + stripped.search);
    expect(missing.status).toBe(400);
    expect(await missing.text()).toContain('Сеанс входа через Госуслуги не найден');

    const tampered = new URL(
      await throughStandIn(browser, '/auth/gosuslugi/link', PERSON.state),
      t.url,
    );
    tampered.searchParams.set('state', 'x'.repeat(43));
    expect((await browser.get(tampered.pathname + tampered.search)).status).toBe(400);
    expect(await identitiesOf(id)).toBe(0);

    // A replay with the very same transaction cookie: the first use deleted the transaction.
    const callback = await throughStandIn(browser, '/auth/gosuslugi/link', PERSON.state);
    const transactionCookie = browser.cookies.get('il_gosuslugi_tx')!;
    expect((await browser.get(callback)).status).toBe(303);
    browser.cookies.set('il_gosuslugi_tx', transactionCookie);
    const replay = await browser.get(callback);
    expect(replay.status).toBe(400);
    expect(await identitiesOf(id)).toBe(0);
    const sessions = await t.em().count(Session, { user: id, revokedAt: null });
    expect(sessions).toBe(1);
  });

  it('refuses a callback carried into another browser (login CSRF): no session, nothing linked', async () => {
    const victim = new Browser(t.url);
    const attacker = await loggedInBrowser(t);
    await linkThrough(attacker.browser, PERSON.csrf); // the attacker's own Госуслуги is linked to the attacker
    await attacker.browser.postJson('/api/v1/auth/logout', {});

    // The attacker starts a login and hands the victim the callback URL.
    const callback = await throughStandIn(attacker.browser, '/auth/gosuslugi/login', PERSON.csrf);
    const response = await victim.get(callback);
    expect(response.status).toBe(400);
    expect(victim.cookies.has('il_session')).toBe(false);
    expect((await victim.get('/api/v1/me')).status).toBe(401);
  });
});

describe('ID token checks', () => {
  const faults: StandInFault[] = [
    'wrong_issuer',
    'wrong_audience',
    'expired',
    'alg_none',
    'bad_signature',
    'unknown_kid',
    'wrong_nonce',
  ];

  it.each(faults)('refuses an ID token with %s: 400, nothing linked', async (fault) => {
    const { browser, id } = await loggedInBrowser(t);
    t.app.get(GosuslugiStandIn).injectFault(fault);
    const response = await linkThrough(browser, PERSON.tokens);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('не прошёл проверку');
    expect(await identitiesOf(id)).toBe(0);
    expect(await identitiesOfPerson(PERSON.tokens)).toBe(0);
    const refused = await t
      .em()
      .find(
        AuditEvent,
        { type: 'gosuslugi.callback_rejected' },
        { orderBy: { createdAt: 'desc' }, limit: 1 },
      );
    expect(refused[0].details.reason).toEqual(expect.any(String));
  });
});

describe('returnTo', () => {
  it.each(['https://evil.example', '//evil.example', '/\\evil.example'])(
    'ignores returnTo=%s',
    async (returnTo) => {
      const { browser, id } = await loggedInBrowser(t);
      await linkThrough(browser, PERSON.misc);
      await browser.postJson('/api/v1/auth/logout', {});
      const callback = await throughStandIn(
        browser,
        `/auth/gosuslugi/login?returnTo=${encodeURIComponent(returnTo)}`,
        PERSON.misc,
      );
      const response = await browser.get(callback);
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/account');
      expect((await me(browser)).id).toBe(id);
    },
  );
});

describe('one identity, one account', () => {
  it('refuses to link an identity already linked to another account: 409, the first account unchanged', async () => {
    const a = await loggedInBrowser(t);
    const b = await loggedInBrowser(t);
    expect((await linkThrough(a.browser, PERSON.misc)).status).toBe(303);

    const refused = await linkThrough(b.browser, PERSON.misc);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('уже привязан к другой учётной записи');
    expect(await identitiesOf(b.id)).toBe(0);
    const identity = await t
      .em()
      .findOneOrFail(FederatedIdentity, { subject: String(PERSON.misc) });
    expect(identity.user.id).toBe(a.id);
    expect(
      await t.em().count(AuditEvent, { type: 'gosuslugi.link_refused', targetUserId: b.id }),
    ).toBe(1);
  });

  it('makes exactly one link from two concurrent link confirmations for one identity', async () => {
    const a = await loggedInBrowser(t);
    const b = await loggedInBrowser(t);
    const states: string[] = [];
    for (const { browser } of [a, b]) {
      const callback = await browser.get(
        await throughStandIn(browser, '/auth/gosuslugi/link', PERSON.misc),
      );
      states.push((await confirmationState(browser, callback))!);
    }
    const statuses = (
      await Promise.all([confirmLink(a.browser, states[0]), confirmLink(b.browser, states[1])])
    )
      .map((response) => response.status)
      .sort();
    expect(statuses).toEqual([303, 409]);
    expect(await identitiesOfPerson(PERSON.misc)).toBe(1);
  });

  it('refuses a second Госуслуги profile for an account that already has one', async () => {
    const a = await loggedInBrowser(t);
    expect((await linkThrough(a.browser, PERSON.misc)).status).toBe(303);
    forgetStandInSession(a.browser); // log out of Госуслуги to come back as another person
    const second = await linkThrough(a.browser, PERSON.state);
    expect(second.status).toBe(409);
    expect(await identitiesOf(a.id)).toBe(1);
  });
});

describe('no matching by e-mail', () => {
  it('logs nobody in and links nothing when the Госуслуги e-mail equals a local account e-mail', async () => {
    const local = await loggedInBrowser(t);
    await t.em().nativeUpdate(User, { id: local.id }, { email: 'kuznetsov.test@example.ru' });
    const stranger = new Browser(t.url);
    const callback = await throughStandIn(stranger, '/auth/gosuslugi/login', PERSON.tokens);
    const response = await stranger.get(callback);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('не привязан к учётной записи');
    expect(stranger.cookies.has('il_session')).toBe(false);
    expect(await identitiesOfPerson(PERSON.tokens)).toBe(0);
    expect(await t.em().count(Session, { user: local.id })).toBe(1);
  });
});

const ageAuthentication = (userId: string) => ageAuthenticationOf(t, userId);

/** A link through the stand-in up to its confirmation page, and then the password ages. */
async function staleConfirmation(browser: Browser, userId: string) {
  const callback = await browser.get(
    await throughStandIn(browser, '/auth/gosuslugi/link', PERSON.linkFlow),
  );
  const state = (await confirmationState(browser, callback))!;
  await ageAuthentication(userId);
  return state;
}

describe('recent authentication before linking', () => {
  it('asks for the password first when the session is stale, then links', async () => {
    const { browser, id, password } = await loggedInBrowser(t);
    await ageAuthentication(id);

    const start = await browser.get('/auth/gosuslugi/link');
    expect(start.status).toBe(303);
    expect(start.headers.get('location')).toBe(
      '/login?returnTo=%2Fauth%2Fgosuslugi%2Flink&reauth=1',
    );
    expect(browser.cookies.has('il_gosuslugi_tx')).toBe(false);

    expect(
      (await browser.postJson('/api/v1/auth/reauthenticate', { password: 'Wrong#Password1' }))
        .status,
    ).toBe(401);
    const before = browser.cookies.get('il_session');
    const confirmed = await browser.postJson('/api/v1/auth/reauthenticate', { password });
    expect(confirmed.status).toBe(200);
    expect(((await confirmed.json()) as { accessToken: unknown }).accessToken).toEqual(
      expect.any(String),
    );
    // A new session (ASVS 7.2.4): the link below is made in it.
    expect(browser.cookies.get('il_session')).not.toBe(before);
    expect((await linkThrough(browser, PERSON.misc)).status).toBe(303);
    expect(await identitiesOf(id)).toBe(1);
  });

  it('after a stale confirmation, confirming the password on the page starts the link again in the new session and links', async () => {
    const { browser, id, password } = await loggedInBrowser(t);
    const state = await staleConfirmation(browser, id);
    const sendBack = Browser.location(await confirmLink(browser, state));
    expect(sendBack).toBe('/login?returnTo=%2Fauth%2Fgosuslugi%2Flink&reauth=1');

    const before = browser.cookies.get('il_session');
    const page = await browser.get(sendBack);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())![1];
    const confirmed = await browser.postForm('/login', {
      csrf,
      password,
      returnTo: '/auth/gosuslugi/link',
    });
    expect(Browser.location(confirmed)).toBe('/auth/gosuslugi/link');
    expect(browser.cookies.get('il_session')).not.toBe(before);

    forgetStandInSession(browser);
    const linked = await linkThrough(browser, PERSON.linkFlow);
    expect(linked.status).toBe(303);
    expect(linked.headers.get('location')).toBe('/account?gosuslugi=linked');
    expect(await identitiesOf(id)).toBe(1);
    expect(await t.em().count(Session, { user: id, revokedAt: null })).toBe(1);
  });

  it('keeps the Госуслуги method when a Госуслуги session confirms the password, in a new session', async () => {
    const { browser, id, password } = await loggedInBrowser(t);
    await linkThrough(browser, PERSON.misc);
    await browser.postJson('/api/v1/auth/logout', {});
    expect(
      (await browser.get(await throughStandIn(browser, '/auth/gosuslugi/login', PERSON.misc)))
        .status,
    ).toBe(303);
    const [before] = await t.em().find(Session, { user: id, revokedAt: null });
    expect(before.method).toBe(AuthMethod.Gosuslugi);

    const confirmed = await browser.postJson('/api/v1/auth/reauthenticate', { password });
    expect(confirmed.status).toBe(200);
    const { accessToken } = (await confirmed.json()) as { accessToken: string };
    expect(decodeJwt(accessToken).amr).toEqual([AuthMethod.Gosuslugi]);
    const live = await t.em().find(Session, { user: id, revokedAt: null });
    expect(live).toHaveLength(1);
    expect(live[0].id).not.toBe(before.id);
    expect(live[0].method).toBe(AuthMethod.Gosuslugi);
    expect((await me(browser)).id).toBe(id);
  });

  it('sends a browser without a session to log in first', async () => {
    const response = await new Browser(t.url).get('/auth/gosuslugi/link');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?returnTo=%2Fauth%2Fgosuslugi%2Flink');
  });
});

describe('unlinking', () => {
  it('unlinks when a password remains', async () => {
    const { browser, id } = await loggedInBrowser(t);
    await linkThrough(browser, PERSON.misc);
    const response = await browser.request('/api/v1/me/identities/gosuslugi', { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(await identitiesOf(id)).toBe(0);
    expect((await me(browser)).identities).toEqual([]);
  });

  it('ends the sessions opened through Госуслуги on other devices, and keeps this one and the password sessions', async () => {
    const { browser, id, login, password } = await loggedInBrowser(t);
    await linkThrough(browser, PERSON.misc);
    const throughGosuslugi = new Browser(t.url);
    const callback = await throughStandIn(throughGosuslugi, '/auth/gosuslugi/login', PERSON.misc);
    expect((await throughGosuslugi.get(callback)).status).toBe(303);
    const withPassword = new Browser(t.url);
    expect((await withPassword.postJson('/api/v1/auth/login', { login, password })).status).toBe(
      200,
    );
    for (const device of [browser, throughGosuslugi, withPassword])
      expect((await device.get('/api/v1/me')).status).toBe(200);

    const response = await browser.request('/api/v1/me/identities/gosuslugi', { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect((await throughGosuslugi.get('/api/v1/me')).status).toBe(401);
    expect((await withPassword.get('/api/v1/me')).status).toBe(200);
    expect((await browser.get('/api/v1/me')).status).toBe(200);
    const event = await t
      .em()
      .findOneOrFail(AuditEvent, { type: 'gosuslugi.unlinked', targetUserId: id });
    expect(event.details).toMatchObject({ endedSessions: 1 });
  });

  it('refuses a Госуслуги login that was under way while the identity was being unlinked', async () => {
    const { browser, id } = await loggedInBrowser(t);
    await linkThrough(browser, PERSON.misc);
    const late = new Browser(t.url);
    const callback = await throughStandIn(late, '/auth/gosuslugi/login', PERSON.misc);
    // An unlink in flight, in the order unlink takes its locks: the account, then the identity.
    const unlink = new pg.Client({ connectionString: t.database.url });
    await unlink.connect();
    try {
      await unlink.query('begin');
      await unlink.query('select id from users where id = $1 for no key update', [id]);
      await unlink.query('delete from federated_identities where user_id = $1', [id]);
      const arriving = late.get(callback);
      await waitForLockWaiter(unlink, 10_000);
      await unlink.query('commit');
      const answer = await arriving;
      expect(answer.headers.get('location')).not.toBe('/account');
    } finally {
      await unlink.query('rollback').catch(() => undefined);
      await unlink.end();
    }
    expect(
      await t.em().count(Session, { user: id, method: AuthMethod.Gosuslugi, revokedAt: null }),
    ).toBe(0);
    expect((await late.get('/api/v1/me')).status).toBe(401);
  });

  it('refuses to unlink the only way to log in', async () => {
    const em = t.em();
    const user = new User(`gosuslugi-only-${Date.now()}`);
    em.persist(user);
    const identity = new FederatedIdentity(
      user,
      'gosuslugi',
      t.config.gosuslugi.issuer,
      String(PERSON.misc),
    );
    em.persist(identity);
    await em.flush();

    const browser = new Browser(t.url);
    const callback = await throughStandIn(browser, '/auth/gosuslugi/login', PERSON.misc);
    expect((await browser.get(callback)).status).toBe(303);
    const response = await browser.request('/api/v1/me/identities/gosuslugi', { method: 'DELETE' });
    expect(response.status).toBe(409);
    expect(((await response.json()) as { code: string }).code).toBe('last_login_method');
    expect(await identitiesOf(user.id)).toBe(1);
  });
});

describe('notices of a link and an unlink (ASVS 6.3.7)', () => {
  const LINKED = 'К учётной записи ЭПОС привязан профиль Госуслуг';
  const UNLINKED = 'Профиль Госуслуг отвязан от учётной записи ЭПОС';
  let mailbox = 0;
  const address = () => `gu.notice.${process.pid}.${++mailbox}@example.ru`;
  const outboxTo = (to: string) =>
    t.em().find(MailMessage, { to }, { orderBy: { createdAt: 'asc' } });
  async function mailTo(to: string, subject: string) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = smtp.received.find((m) => m.to.includes(to) && m.subject === subject);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no «${subject}» mail to ${to}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('tells the verified address when Госуслуги is linked, whose profile it is, and when it is unlinked', async () => {
    const { browser, id, login } = await loggedInBrowser(t);
    const email = address();
    await t.em().nativeUpdate(User, { id }, { email });

    expect((await linkThrough(browser, PERSON.linkFlow)).status).toBe(303);
    const linked = await mailTo(email, LINKED);
    expect(linked.text).toContain(`«${login.toLowerCase()}»`);
    expect(linked.text).toContain('Иванова Мария Сергеевна');
    expect(linked.text).toContain('входить через Госуслуги');
    expect(linked.text).toContain('Если это сделали не вы');
    expect(linked.text).toContain('«Забыли пароль?»');
    expect(linked.text).toContain(`${t.url}/forgot-password`);
    expect(linked.text).toContain('отвяжите');
    expect(linked.text).toMatch(/\d{4} г\./);

    const response = await browser.request('/api/v1/me/identities/gosuslugi', { method: 'DELETE' });
    expect(response.status).toBe(204);
    const unlinked = await mailTo(email, UNLINKED);
    expect(unlinked.text).toContain(`«${login.toLowerCase()}»`);
    expect(unlinked.text).toContain('Если это сделали не вы');
    expect(unlinked.text).toContain('«Забыли пароль?»');
    for (const mail of [linked, unlinked]) {
      expect(mail.text).not.toMatch(/[A-Za-z0-9_-]{43}/);
      expect(mail.text).not.toMatch(/reset-password|verify-email|callback/);
    }
    expect((await outboxTo(email)).map((m) => m.subject)).toEqual([LINKED, UNLINKED]);
  });

  it('sends nothing for a refused unlink, nor for a link or unlink of an account without a verified e-mail', async () => {
    const { browser, id } = await loggedInBrowser(t);
    const pending = address();
    await t.em().nativeUpdate(User, { id }, { pendingEmail: pending });
    const before = await t.em().count(MailMessage, {});
    expect((await linkThrough(browser, PERSON.linkFlow)).status).toBe(303);
    expect(
      (await browser.request('/api/v1/me/identities/gosuslugi', { method: 'DELETE' })).status,
    ).toBe(204);
    expect(await t.em().count(MailMessage, {})).toBe(before);

    // Refused: nothing linked, nothing told, even with a verified address.
    const email = address();
    await t.em().nativeUpdate(User, { id }, { email, pendingEmail: null });
    const again = await browser.request('/api/v1/me/identities/gosuslugi', { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await outboxTo(email)).toEqual([]);
  });
});

describe('explicit confirmation of a link', () => {
  it('shows whose profile came back and links only after the confirming POST', async () => {
    const { browser, id, login } = await loggedInBrowser(t);
    const callback = await browser.get(
      await throughStandIn(browser, '/auth/gosuslugi/link', PERSON.linkFlow),
    );
    expect(callback.headers.get('location')).toBe('/auth/gosuslugi/link/confirm');
    expect(await identitiesOf(id)).toBe(0);
    const page = await browser.get('/auth/gosuslugi/link/confirm');
    const html = await page.text();
    expect(html).toContain('Иванова Мария Сергеевна');
    expect(html).toContain(login.toLowerCase());
    const state = /name="state" value="([^"]+)"/.exec(html)![1];

    // A wrong state spends the pending link: the right one no longer works either.
    expect((await confirmLink(browser, 'x'.repeat(43))).status).toBe(400);
    expect((await confirmLink(browser, state)).status).toBe(400);
    expect(await identitiesOf(id)).toBe(0);
  });

  it('refuses a confirmation posted from another site', async () => {
    const { browser, id } = await loggedInBrowser(t);
    const callback = await browser.get(
      await throughStandIn(browser, '/auth/gosuslugi/link', PERSON.linkFlow),
    );
    const state = (await confirmationState(browser, callback))!;
    const forged = await browser.request('/auth/gosuslugi/link/confirm', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: 'https://evil.example',
      },
      body: new URLSearchParams({ state }).toString(),
    });
    expect(forged.status).toBe(403);
    expect(await identitiesOf(id)).toBe(0);
    expect((await confirmLink(browser, state)).status).toBe(303);
    expect(await identitiesOf(id)).toBe(1);
  });

  it('asks for the password again when it was entered too long ago by the time of confirming', async () => {
    const { browser, id } = await loggedInBrowser(t);
    const state = await staleConfirmation(browser, id);
    const response = await confirmLink(browser, state);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(
      '/login?returnTo=%2Fauth%2Fgosuslugi%2Flink&reauth=1',
    );
    expect(await identitiesOf(id)).toBe(0);
  });

  it('refuses to start a link from another site (a cross-site navigation)', async () => {
    const { browser } = await loggedInBrowser(t);
    const response = await browser.request('/auth/gosuslugi/link', {
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    expect(response.status).toBe(403);
    expect(browser.cookies.has('il_gosuslugi_tx')).toBe(false);
  });

  it('asks Госуслуги to check the person again for a link (prompt=login)', async () => {
    const { browser } = await loggedInBrowser(t);
    const start = new URL(Browser.location(await browser.get('/auth/gosuslugi/link')));
    expect(start.searchParams.get('prompt')).toBe('login');
  });
});

describe('a provider that does not answer', () => {
  let down: TestApp;
  beforeAll(async () => {
    down = await startTestApp({
      GOSUSLUGI_PROFILE: 'oidc',
      GOSUSLUGI_ISSUER: 'http://127.0.0.1:9',
      GOSUSLUGI_CLIENT_ID: 'x',
      GOSUSLUGI_CLIENT_SECRET: 'y',
    });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await down.close();
  });

  it('gives the Russian «unavailable» page, not a 500', async () => {
    const { default: request } = await import('supertest');
    const agent = request.agent(down.http);
    const page = await agent.get('/login');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1];
    const response = await agent
      .post('/auth/gosuslugi/login')
      .type('form')
      .set('origin', down.url)
      .send({ csrf });
    expect(response.status).toBe(502);
    expect(response.text).toContain('Госуслуги сейчас недоступны');
  });
});
