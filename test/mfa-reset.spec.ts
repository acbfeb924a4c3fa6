import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { MfaCredential } from '../src/identity/mfa-credential.entity.js';
import { MfaRecoveryCode } from '../src/identity/mfa-recovery-code.entity.js';
import { Passkey } from '../src/identity/passkey.entity.js';
import { User } from '../src/identity/user.entity.js';
import { MailMessage } from '../src/mail/mail-message.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { runCli } from './support/cli.js';
import { ALIVE, login, register, sessionAnswers, uniqueLogin } from './support/http.js';
import { enrolTotp } from './support/mfa.js';
import { enrolPasskey } from './support/passkey.js';
import { operatorBrowser } from './support/pos.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * A person lost the phone with the authenticator and every recovery code (ASVS 6.4.4). After the
 * operator's identity proofing (SECURITY.md, threat 14), `user:mfa-reset` or «Сбросить второй
 * фактор» removes the factor: audited, every session ended, the owner told by mail; the next
 * password login has no code to ask for (or, for an account that must have one, enrols again).
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(
    { THROTTLE_LIMIT: '100000', THROTTLE_AUTH_LIMIT: '100000' },
    { listen: true },
  );
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

const cli = (args: string[]) => runCli(t.database.url, args);

/** A person with a verified address and a TOTP factor, and a session on another device. */
async function personWithFactor(prefix: string) {
  const account = await register(t, uniqueLogin(prefix));
  const email = `${account.login}@school.example.ru`;
  await t.em().nativeUpdate(User, { id: account.id }, { email, emailVerifiedAt: new Date() });
  const browser = new Browser(t.url);
  const first = await browser.postJson('/api/v1/auth/login', {
    login: account.login,
    password: account.password,
  });
  expect(first.status).toBe(200);
  await enrolTotp(browser);
  return { ...account, email, browser };
}

const factorsOf = async (userId: string) =>
  (await t.em().count(MfaCredential, { user: userId })) +
  (await t.em().count(MfaRecoveryCode, { user: userId }));

const noticesTo = (to: string) =>
  t.em().find(MailMessage, { to, subject: 'Второй фактор учётной записи ЭПОС сброшен' });

describe('user:mfa-reset: the operator removes a lost second factor', () => {
  it('removes the factor and the recovery codes, ends every session, audits and tells the owner; the next login asks no code', async () => {
    const person = await personWithFactor('lostphone');
    expect(await factorsOf(person.id)).toBe(11);
    const cookie = await person.browser.get('/api/v1/me');
    expect(cookie.status).toBe(200);

    const run = await cli(['user:mfa-reset', '--login', person.login, '--json']);
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(run.out)).toEqual({
      login: person.login,
      removed: ['totp'],
      endedSessions: 1,
      notified: true,
    });

    expect(await factorsOf(person.id)).toBe(0);
    expect((await person.browser.get('/api/v1/me')).status).toBe(401);
    const [event] = await t.em().find(AuditEvent, { type: 'mfa.reset', targetUserId: person.id });
    expect(event.details).toMatchObject({ login: person.login, via: 'cli', removed: ['totp'] });
    const [notice] = await noticesTo(person.email);
    expect(notice.text).toContain(`учётной записи ЭПОС «${person.login}»`);
    expect(notice.text).toContain('Забыли пароль?');

    // The password alone opens a session again: there is no factor left to ask for.
    const again = await login(t, { login: person.login, password: person.password });
    expect(again.sessionId).toEqual(expect.any(String));

    // A second run finds nothing to reset: a refusal (exit 2), not a crash.
    const twice = await cli(['user:mfa-reset', '--login', person.login, '--json']);
    expect(twice.code).toBe(2);
    expect(JSON.parse(twice.out)).toMatchObject({ error: { code: 'mfa_not_enrolled' } });
    const unknown = await cli(['user:mfa-reset', '--login', 'nobody.here']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('user_not_found');
  }, 120_000);
});

describe('user:mfa-reset and passkeys', () => {
  it('removes lost passkeys too: an account with only a passkey is reset, and the password alone logs in again', async () => {
    const account = await register(t, uniqueLogin('lostkey'));
    const browser = new Browser(t.url);
    const first = await browser.postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    expect(first.status).toBe(200);
    await enrolPasskey(browser);
    expect(await t.em().count(Passkey, { user: account.id })).toBe(1);

    const run = await cli(['user:mfa-reset', '--login', account.login, '--json']);
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(JSON.parse(run.out)).toMatchObject({ login: account.login, removed: ['passkey'] });
    expect(await t.em().count(Passkey, { user: account.id })).toBe(0);
    expect((await browser.get('/api/v1/me')).status).toBe(401);
    const again = await login(t, { login: account.login, password: account.password });
    expect(again.sessionId).toEqual(expect.any(String));
  }, 120_000);
});

describe('«Сбросить второй фактор» on the operator’s «Пользователи»', () => {
  it('is offered for an account with a factor, resets it with the operator named in the audit, and never the operator’s own', async () => {
    const operator = await operatorBrowser(t);
    const person = await personWithFactor('teacher');
    const page = await operator.browser.get(`/pos/operator?tab=users&q=${person.login}`);
    const html = await page.text();
    expect(html).toContain(`aria-label="Сбросить второй фактор: ${person.login}"`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1];

    const reset = await operator.browser.postForm(`/pos/operator/users/${person.id}/mfa-reset`, {
      csrf,
      q: person.login,
    });
    expect(reset.status).toBe(303);
    expect(Browser.location(reset)).toContain('notice=mfa_reset');
    expect(await factorsOf(person.id)).toBe(0);
    expect((await person.browser.get('/api/v1/me')).status).toBe(401);
    const [event] = await t
      .em()
      .find(AuditEvent, { type: 'mfa.reset', targetUserId: person.id, actorUserId: operator.id });
    expect(event.details).toMatchObject({ via: 'web', removed: ['totp'] });
    expect(await noticesTo(person.email)).toHaveLength(1);
    const after = await operator.browser.get(`/pos/operator?tab=users&q=${person.login}`);
    expect(await after.text()).not.toContain('Сбросить второй фактор:');

    // The operator's own factor: another operator resets it, never the one acting.
    const own = await operator.browser.postForm(`/pos/operator/users/${operator.id}/mfa-reset`, {
      csrf,
    });
    expect(own.status).toBe(409);
    expect(await factorsOf(operator.id)).toBe(11);
    // The owner logs in with the password alone now.
    const device = await login(t, { login: person.login, password: person.password });
    expect(await sessionAnswers(t, device)).toEqual(ALIVE);
  }, 120_000);
});
