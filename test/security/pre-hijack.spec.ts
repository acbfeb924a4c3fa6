import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../../src/audit/audit-event.entity.js';
import { FederatedIdentity } from '../../src/identity/federated-identity.entity.js';
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
});
