import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../../src/audit/audit-event.entity.js';
import { EsiaStandIn } from '../../src/dev/esia-stand-in.js';
import { FederatedIdentity } from '../../src/identity/federated-identity.entity.js';
import { AuthMethod, Session } from '../../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { activeLogCapture } from '../support/log-capture.js';
import { begin, linkThrough, loggedInBrowser, throughStandIn } from '../support/gosuslugi.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Authorization code injection against the `esia` profile: a code ЕСИА issued to the victim's
 * round trip, stolen before her browser redeemed it (a leaked redirect URL, a proxy or history
 * log, a malicious extension), is sent to our callback by the attacker, in his own browser, with
 * the state of a round trip he started himself. State and the transaction cookie are then all
 * his own and match; only PKCE (the code is bound at ЕСИА to the victim's code_challenge, whose
 * verifier lives in her transaction, reachable only through her browser's cookie) stops it.
 */
const VICTIM_OID = 1000000002;
const ATTACKER_OID = 1000000001;

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    {
      GOSUSLUGI_PROFILE: 'esia',
      GOSUSLUGI_ESIA_ENV: 'dev',
      THROTTLE_AUTH_LIMIT: '100000',
      THROTTLE_LIMIT: '100000',
    },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});
afterEach(async () => {
  t.app.get(EsiaStandIn).echoNonce = false;
  await t.em().nativeDelete(FederatedIdentity, {});
});

/** An account whose Госуслуги profile `oid` is linked; returns its id. */
async function linkedAccount(oid: number): Promise<string> {
  const { browser, id } = await loggedInBrowser(t);
  expect((await linkThrough(browser, oid)).status).toBe(303);
  return id;
}

/** «Войти через Госуслуги» in `browser`, stopped at the ЕСИА authorization request it leads to. */
async function startLogin(browser: Browser): Promise<URL> {
  const start = await begin(browser, '/auth/gosuslugi/login');
  expect(start.status).toBe(303);
  const authorization = new URL(Browser.location(start));
  expect(authorization.pathname).toBe('/dev/esia/aas/oauth2/v2/ac');
  return authorization;
}

/** The reason of the latest refused Госуслуги callback, as the audit log has it. */
async function lastRejection(): Promise<unknown> {
  const [event] = await t
    .em()
    .find(
      AuditEvent,
      { type: 'gosuslugi.callback_rejected' },
      { orderBy: { createdAt: 'desc' }, limit: 1 },
    );
  return event?.details.reason;
}

const gosuslugiSessions = (userId: string) =>
  t.em().count(Session, { user: userId, method: AuthMethod.Gosuslugi });

describe('ЕСИА authorization code injection', () => {
  it("a victim's unredeemed code, sent with the attacker's own state from the attacker's browser, does not log him in as her", async () => {
    const victimId = await linkedAccount(VICTIM_OID);

    // The victim starts «Войти через Госуслуги» in her browser and logs in at ЕСИА; the redirect
    // back with the code is not followed: the attacker has it instead.
    const victim = new Browser(t.url);
    const stolen = new URL(
      await throughStandIn(victim, '/auth/gosuslugi/login', VICTIM_OID),
      t.url,
    );
    const code = stolen.searchParams.get('code')!;
    expect(code).toBeTruthy();

    // The attacker starts his own login in his own browser: his transaction cookie, his state.
    const attacker = new Browser(t.url);
    const own = await startLogin(attacker);
    const logFrom = activeLogCapture()!.lines.length;
    const injected = await attacker.get(
      `/auth/gosuslugi/callback?${new URLSearchParams({ code, state: own.searchParams.get('state')! })}`,
    );
    const html = await injected.text();
    const me = await attacker.get('/api/v1/me');
    const meId = me.status === 200 ? ((await me.json()) as { id: string }).id : null;

    expect({
      callback: injected.status,
      me: me.status,
      loggedInAs: meId === victimId ? 'the victim' : meId,
    }).toEqual({
      callback: 400,
      me: 401,
      loggedInAs: null,
    });
    expect(await gosuslugiSessions(victimId)).toBe(0);
    // A page that says what happened, with the stable code and ЕСИА's own.
    expect(html).toContain('Госуслуги вернули ответ, который не прошёл проверку');
    expect(html).toContain('Код входа выдан Госуслугами для другого сеанса входа');
    expect(html).toContain('ESIA-007040');
    expect(html).toContain('esia_code_verifier_mismatch');
    expect(await lastRejection()).toBe('esia_code_verifier_mismatch');
    // And the log names ЕСИА's answer for whoever investigates.
    const logged = activeLogCapture()!.lines.slice(logFrom);
    expect(logged.some((line) => line.includes('ESIA-007040') && line.includes('"level":40'))).toBe(
      true,
    );
  });

  it('the same code is no use to the attacker with a forged state either, nor replayed with the victim’s state', async () => {
    await linkedAccount(VICTIM_OID);
    const victim = new Browser(t.url);
    const stolen = new URL(
      await throughStandIn(victim, '/auth/gosuslugi/login', VICTIM_OID),
      t.url,
    );
    const attacker = new Browser(t.url);
    await startLogin(attacker);
    // The victim's own state is not the attacker's transaction's: nothing is even sent to ЕСИА.
    const replayed = await attacker.get(stolen.pathname + stolen.search);
    expect(replayed.status).toBe(400);
    expect(await replayed.text()).toContain('Сеанс входа через Госуслуги не найден');
    expect(await lastRejection()).toBe('no_transaction');
    expect((await attacker.get('/api/v1/me')).status).toBe(401);
  });

  it('the browser that started the round trip still logs in with its own code (the control)', async () => {
    const victimId = await linkedAccount(VICTIM_OID);
    const victim = new Browser(t.url);
    const callback = await victim.get(
      await throughStandIn(victim, '/auth/gosuslugi/login', VICTIM_OID),
    );
    expect(callback.status).toBe(303);
    const me = (await (await victim.get('/api/v1/me')).json()) as { id: string };
    expect(me.id).toBe(victimId);
  });

  it("a code from the attacker's own ЕСИА login, injected into the victim's browser (login CSRF), logs nobody in there", async () => {
    await linkedAccount(ATTACKER_OID);
    const attacker = new Browser(t.url);
    const attackers = new URL(
      await throughStandIn(attacker, '/auth/gosuslugi/login', ATTACKER_OID),
      t.url,
    );
    const victim = new Browser(t.url);
    const own = await startLogin(victim);
    const forced = await victim.get(
      `/auth/gosuslugi/callback?${new URLSearchParams({ code: attackers.searchParams.get('code')!, state: own.searchParams.get('state')! })}`,
    );
    expect(forced.status).toBe(400);
    expect((await victim.get('/api/v1/me')).status).toBe(401);
    expect(await lastRejection()).toBe('esia_code_verifier_mismatch');
  });
});

describe('ЕСИА ID token nonce', () => {
  it("an ID token carrying a nonce that is not this transaction's is refused (default GOSUSLUGI_ESIA_NONCE=optional)", async () => {
    const victimId = await linkedAccount(VICTIM_OID);
    // ЕСИА configured to return the nonce, answering with another round trip's.
    t.app.get(EsiaStandIn).echoNonce = true;
    t.app.get(EsiaStandIn).injectFault('wrong_nonce');
    const browser = new Browser(t.url);
    const callback = await browser.get(
      await throughStandIn(browser, '/auth/gosuslugi/login', VICTIM_OID),
    );
    expect(callback.status).toBe(400);
    expect(await callback.text()).toContain('id_token_nonce');
    expect(await lastRejection()).toBe('id_token_nonce');
    expect((await browser.get('/api/v1/me')).status).toBe(401);
    expect(await gosuslugiSessions(victimId)).toBe(0);
  });

  it('an ID token that echoes the nonce of this transaction is accepted', async () => {
    const id = await linkedAccount(VICTIM_OID);
    t.app.get(EsiaStandIn).echoNonce = true;
    const browser = new Browser(t.url);
    const callback = await browser.get(
      await throughStandIn(browser, '/auth/gosuslugi/login', VICTIM_OID),
    );
    expect(callback.status).toBe(303);
    expect(((await (await browser.get('/api/v1/me')).json()) as { id: string }).id).toBe(id);
  });
});
