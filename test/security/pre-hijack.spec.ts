import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../../src/audit/audit-event.entity.js';
import { FederatedIdentity } from '../../src/identity/federated-identity.entity.js';
import { User } from '../../src/identity/user.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { forgetStandInSession, linkThrough, throughStandIn } from '../support/gosuslugi.js';
import { register, STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { linkToken, TestSmtp } from '../support/smtp.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * The Trojan identifier: an attacker registers an account on the victim's address (unverified)
 * and links his own Госуслуги. The victim later verifies the address and takes the account with
 * «Забыли пароль?» — and the attacker's Госуслуги must not stay a way in.
 */
const smtp = new TestSmtp();
let t: TestApp;

beforeAll(async () => {
  await smtp.start();
  t = await startTestApp(
    { SMTP_URL: smtp.url, THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
  await smtp.stop();
});

/** The victim verifies the address from her mailbox, then resets the password. */
async function victimTakesTheAccount(email: string, keepGosuslugi?: boolean): Promise<void> {
  const verify = linkToken(await smtp.waitFor(email), 'verify-email');
  const verified = await new Browser(t.url).postJson('/api/v1/accounts/email-verification', {
    token: verify,
  });
  expect(verified.status).toBe(204);
  expect(
    (await new Browser(t.url).postJson('/api/v1/auth/recovery', { identifier: email })).status,
  ).toBe(202);
  const reset = linkToken(
    await smtp.waitFor(email, 20_000, 'Восстановление пароля'),
    'reset-password',
  );
  const answer = await new Browser(t.url).postJson('/api/v1/auth/recovery/password', {
    token: reset,
    newPassword: 'Vosstanov#2026',
    newPasswordRepeat: 'Vosstanov#2026',
    ...(keepGosuslugi !== undefined && { keepGosuslugi }),
  });
  expect(answer.status).toBe(204);
}

async function attackerPreRegisters(email: string, oid: number): Promise<string> {
  const account = await register(t, uniqueLogin('trojan'), STRONG_PASSWORD, { email });
  const attacker = new Browser(t.url);
  await attacker.postJson('/api/v1/auth/login', {
    login: account.login,
    password: account.password,
  });
  expect((await linkThrough(attacker, oid)).status).toBe(303);
  forgetStandInSession(attacker);
  return account.id;
}

describe('a pre-hijacked account', () => {
  it('the attacker’s Госуслуги no longer gets in after the owner verifies the address and resets the password', async () => {
    const id = await attackerPreRegisters('victim@school.example', 1000000005);
    await victimTakesTheAccount('victim@school.example');

    expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
    const attacker = new Browser(t.url);
    const back = await attacker.get(
      await throughStandIn(attacker, '/auth/gosuslugi/login', 1000000005),
    );
    expect(back.status).toBe(403);
    expect(await back.text()).toContain('Профиль Госуслуг не привязан');
    const [completed] = await t.em().find(AuditEvent, {
      type: 'recovery.completed',
      targetUserId: id,
    });
    expect(completed.details.unlinkedIdentities).toHaveLength(1);
  });

  it('the owner who linked her own profile may keep it on the reset page', async () => {
    const id = await attackerPreRegisters('owner@school.example', 1000000004);
    await victimTakesTheAccount('owner@school.example', true);
    expect(await t.em().count(FederatedIdentity, { user: id })).toBe(1);
  });

  it('the attacker’s Госуслуги kept through the reset may not move the verified e-mail away', async () => {
    const id = await attackerPreRegisters('kept@school.example', 1000000001);
    await victimTakesTheAccount('kept@school.example', true);
    expect(await t.em().count(FederatedIdentity, { user: id })).toBe(1);

    const attacker = new Browser(t.url);
    const back = await attacker.get(
      await throughStandIn(attacker, '/auth/gosuslugi/login', 1000000001),
    );
    expect(back.status).toBe(303);
    const moved = await patchMe(attacker, { email: 'attacker@evil.example' });
    expect(moved.status).toBe(403);
    expect(((await moved.json()) as { code: string }).code).toBe('password_required');
    const removed = await patchMe(attacker, { email: null });
    expect(removed.status).toBe(403);
    const account = await t.em().findOneOrFail(User, id);
    expect(account).toMatchObject({ email: 'kept@school.example', pendingEmail: null });
  });

  it('the «Личный кабинет» form asks the attacker’s kept Госуслуги for the password instead of moving the e-mail', async () => {
    const id = await attackerPreRegisters('form@school.example', 1000000007);
    await victimTakesTheAccount('form@school.example', true);

    const attacker = new Browser(t.url);
    await attacker.get(await throughStandIn(attacker, '/auth/gosuslugi/login', 1000000007));
    const page = await (await attacker.get('/account')).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1];
    const saved = await attacker.postForm('/account', {
      csrf,
      phone: '',
      email: 'attacker@evil.example',
    });
    expect(saved.status).toBe(403);
    expect(await saved.text()).toContain('подтвердите, что это вы, паролем');
    expect(await t.em().findOneOrFail(User, id)).toMatchObject({
      email: 'form@school.example',
      pendingEmail: null,
    });
  });

  it('the attacker may not refresh his link by unlinking and linking his Госуслуги again', async () => {
    const id = await attackerPreRegisters('relink@school.example', 1000000006);
    await victimTakesTheAccount('relink@school.example', true);

    const attacker = new Browser(t.url);
    await attacker.get(await throughStandIn(attacker, '/auth/gosuslugi/login', 1000000006));
    const unlinked = await attacker.request('/api/v1/me/identities/gosuslugi', {
      method: 'DELETE',
    });
    expect(unlinked.status).toBe(204);
    const relinked = await linkThrough(attacker, 1000000006);
    // Sent to enter the password first: nothing was linked.
    expect(relinked.headers.get('location')).toContain('/login');
    expect(await t.em().count(FederatedIdentity, { user: id })).toBe(0);
    expect(await t.em().findOneOrFail(User, id)).toMatchObject({ email: 'relink@school.example' });
  });

  it('a Госуслуги profile linked before the address was verified moves it after the password is entered again', async () => {
    const id = await attackerPreRegisters('again@school.example', 1000000002);
    await victimTakesTheAccount('again@school.example', true);
    const login = (await t.em().findOneOrFail(User, id)).login;

    const owner = new Browser(t.url);
    await owner.get(await throughStandIn(owner, '/auth/gosuslugi/login', 1000000002));
    expect((await patchMe(owner, { email: 'again.new@school.example' })).status).toBe(403);
    const again = await owner.postJson('/api/v1/auth/reauthenticate', {
      password: 'Vosstanov#2026',
    });
    expect(again.status).toBe(200);
    expect((await patchMe(owner, { email: 'again.new@school.example' })).status).toBe(200);
    expect(await t.em().findOneOrFail(User, id)).toMatchObject({
      login,
      pendingEmail: 'again.new@school.example',
    });
  });

  it('a Госуслуги profile linked after the address was verified may move it after a Госуслуги login', async () => {
    const account = await register(t, uniqueLogin('later'), STRONG_PASSWORD, {
      email: 'later@school.example',
    });
    const verify = linkToken(await smtp.waitFor('later@school.example'), 'verify-email');
    const owner = new Browser(t.url);
    expect(
      (await owner.postJson('/api/v1/accounts/email-verification', { token: verify })).status,
    ).toBe(204);
    await owner.postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    expect((await linkThrough(owner, 1000000003)).status).toBe(303);

    const elsewhere = new Browser(t.url);
    const back = await elsewhere.get(
      await throughStandIn(elsewhere, '/auth/gosuslugi/login', 1000000003),
    );
    expect(back.status).toBe(303);
    expect((await patchMe(elsewhere, { email: 'later.new@school.example' })).status).toBe(200);
  });
});

function patchMe(browser: Browser, body: unknown): Promise<Response> {
  return browser.request('/api/v1/me', {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
