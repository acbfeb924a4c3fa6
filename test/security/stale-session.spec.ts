import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccountToken } from '../../src/accounts/account-token.entity.js';
import { FederatedIdentity } from '../../src/identity/federated-identity.entity.js';
import { User } from '../../src/identity/user.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import {
  ageAuthentication,
  forgetStandInSession,
  linkThrough,
  loggedInBrowser,
} from '../support/gosuslugi.js';
import { json } from '../support/pos.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * A session someone else got hold of (a shared school computer left signed in, a stolen cookie)
 * is older than the 10 minutes that changing how the account is reached needs. The attacks: give
 * the account a first e-mail of the attacker's (verify it, then «Забыли пароль?» takes the
 * account), move the phone, remove the owner's Госуслуги (ASVS 7.5.1).
 */
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

function patchMe(browser: Browser, body: unknown): Promise<Response> {
  return browser.request('/api/v1/me', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('a stale session cannot change how the account is reached', () => {
  it('a stolen session 11 minutes old cannot add a first e-mail (the way to recovery), change the phone or unlink Госуслуги', async () => {
    const victim = await loggedInBrowser(t);
    expect((await linkThrough(victim.browser, 1000000004)).status).toBe(303);
    forgetStandInSession(victim.browser);
    await ageAuthentication(t, victim.id);

    // A first e-mail of the attacker's: once verified, «Забыли пароль?» would send him the account.
    const email = await patchMe(victim.browser, { email: 'attacker@evil.example' });
    expect(email.status).toBe(403);
    expect((await json(email)).code).toBe('reauthentication_required');
    const phone = await patchMe(victim.browser, { phone: '+79120000000' });
    expect(phone.status).toBe(403);
    const unlink = await victim.browser.request('/api/v1/me/identities/gosuslugi', {
      method: 'DELETE',
    });
    expect(unlink.status).toBe(403);
    expect((await json(unlink)).code).toBe('reauthentication_required');

    // Nothing changed, no verification link went out.
    const account = await t.em().findOneOrFail(User, victim.id, { refresh: true });
    expect([account.email, account.pendingEmail, account.phone]).toEqual([null, null, null]);
    expect(await t.em().count(AccountToken, { user: victim.id })).toBe(0);
    expect(await t.em().count(FederatedIdentity, { user: victim.id })).toBe(1);

    // The owner, with the password entered again, does all three.
    const again = await victim.browser.postJson('/api/v1/auth/reauthenticate', {
      password: victim.password,
    });
    expect(again.status).toBe(200);
    expect((await patchMe(victim.browser, { email: 'owner@example.ru' })).status).toBe(200);
    expect((await patchMe(victim.browser, { phone: '+79120000000' })).status).toBe(200);
    expect(
      (await victim.browser.request('/api/v1/me/identities/gosuslugi', { method: 'DELETE' }))
        .status,
    ).toBe(204);
  });

  it('the «Личный кабинет» form says what to do instead of changing the phone', async () => {
    const victim = await loggedInBrowser(t);
    await ageAuthentication(t, victim.id);
    const page = await (await victim.browser.get('/account')).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1];
    const saved = await victim.browser.postForm('/account', {
      csrf,
      phone: '+7 912 000-00-01',
      email: '',
    });
    expect(saved.status).toBe(403);
    expect(await saved.text()).toContain('подтвердите, что это вы');
    const account = await t.em().findOneOrFail(User, victim.id, { refresh: true });
    expect(account.phone).toBeNull();
  });
});
