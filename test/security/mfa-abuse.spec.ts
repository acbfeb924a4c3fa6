import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { AuditEvent } from '../../src/audit/audit-event.entity.js';
import { User } from '../../src/identity/user.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { register, uniqueLogin } from '../support/http.js';
import { enrolTotp, loginWithCode, type TotpApp } from '../support/mfa.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * The second factor under attack (issue 19): someone who has the password (phished, reused,
 * sprayed) and tries to get past the code, or to use the half-open login as if it were a session.
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

/** A person with TOTP enrolled (from a fresh login), and a fresh browser for the next login. */
async function enrolled(): Promise<{
  account: { login: string; password: string; id: string };
  app: TotpApp;
  recoveryCodes: string[];
}> {
  const { login, password, id } = await register(t, uniqueLogin('mfa'));
  const account = { login, password, id };
  const browser = new Browser(t.url);
  expect((await browser.postJson('/api/v1/auth/login', credentials(account))).status).toBe(200);
  const { app, recoveryCodes } = await enrolTotp(browser);
  return { account, app, recoveryCodes };
}

const credentials = ({ login, password }: { login: string; password: string }) => ({
  login,
  password,
});

async function bodyOf(response: Response): Promise<Record<string, unknown>> {
  return (await response.json()) as Record<string, unknown>;
}

async function failures(userId: string, reason?: string): Promise<number> {
  const events = await t.em().find(AuditEvent, { type: 'mfa.failed', targetUserId: userId });
  return events.filter((e) => reason === undefined || e.details?.reason === reason).length;
}

describe('second factor abuse', () => {
  it('a TOTP code cannot be replayed within the same step', async () => {
    const { account, app } = await enrolled();
    const code = await app.code();
    const owner = new Browser(t.url);
    expect((await loginWithCode(owner, account, code)).status).toBe(200);

    // The attacker has the password and saw the code the owner just typed (shoulder, phishing
    // proxy): within the same 30 seconds it is worth nothing.
    const attacker = new Browser(t.url);
    const replayed = await loginWithCode(attacker, account, code);
    expect(replayed.status).toBe(401);
    expect((await bodyOf(replayed)).code).toBe('invalid_mfa_code');
    expect(attacker.cookies.has(t.config.session.cookieName)).toBe(false);
    expect(await failures(account.id, 'replayed')).toBe(1);
  });

  it('brute force of codes is throttled with the credential limits', async () => {
    const { account, app } = await enrolled();
    const attacker = new Browser(t.url);
    const first = await attacker.postJson('/api/v1/auth/login', credentials(account));
    const { mfaToken } = (await bodyOf(first)) as { mfaToken: string };
    const wrong = async (token: string) =>
      attacker.postJson('/api/v1/auth/login/mfa', { mfaToken: token, code: '000000' });
    for (let i = 0; i < 5; i += 1) expect((await wrong(mfaToken)).status).toBe(401);
    // Five wrong codes end the step: the password again.
    const ended = await attacker.postJson('/api/v1/auth/login/mfa', {
      mfaToken,
      code: await app.code(),
    });
    expect((await bodyOf(ended)).code).toBe('mfa_challenge_invalid');

    // A right password again does not buy fresh guesses: the factor itself now waits, and even
    // the right code is refused until the pause is over.
    const again = await attacker.postJson('/api/v1/auth/login', credentials(account));
    const next = (await bodyOf(again)) as { code: string; mfaToken: string };
    expect(next.code).toBe('mfa_required');
    const right = await attacker.postJson('/api/v1/auth/login/mfa', {
      mfaToken: next.mfaToken,
      code: await app.code(),
    });
    expect(right.status).toBe(401);
    expect((await bodyOf(right)).code).toBe('invalid_mfa_code');
    expect(await failures(account.id, 'wrong_code')).toBe(5);
    expect(await failures(account.id, 'locked')).toBe(1);
  });

  it('a recovery code works once', async () => {
    const { account, recoveryCodes } = await enrolled();
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    const owner = new Browser(t.url);
    const used = await loginWithCode(owner, account, recoveryCodes[3].toLowerCase());
    expect(used.status).toBe(200);
    expect(decodeJwt(((await bodyOf(used)) as { accessToken: string }).accessToken).amr).toEqual([
      'pwd',
      'otp',
    ]);
    const attacker = new Browser(t.url);
    const twice = await loginWithCode(attacker, account, recoveryCodes[3]);
    expect(twice.status).toBe(401);
    expect((await bodyOf(twice)).code).toBe('invalid_mfa_code');
    expect(await failures(account.id, 'wrong_recovery_code')).toBe(1);
    const usedEvents = await t.em().find(AuditEvent, {
      type: 'mfa.recovery.used',
      targetUserId: account.id,
    });
    expect(usedEvents.map((e) => e.details?.remaining)).toEqual([9]);
  });

  it('the pending step cannot reach any API or page', async () => {
    const { account } = await enrolled();
    // Through the API: the continuation token is no session, as a cookie or as a bearer token.
    const api = new Browser(t.url);
    const pending = await api.postJson('/api/v1/auth/login', credentials(account));
    expect(pending.status).toBe(401);
    const { mfaToken } = (await bodyOf(pending)) as { mfaToken: string };
    expect(mfaToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(api.cookies.has(t.config.session.cookieName)).toBe(false);
    expect((await api.get('/api/v1/me')).status).toBe(401);
    const asCookie = new Browser(t.url);
    asCookie.cookies.set(t.config.session.cookieName, mfaToken);
    expect((await asCookie.get('/api/v1/me')).status).toBe(401);
    expect((await asCookie.get('/account')).status).toBe(303);
    const asBearer = await fetch(new URL('/api/v1/me', t.url), {
      headers: { authorization: `Bearer ${mfaToken}` },
    });
    expect(asBearer.status).toBe(401);

    // Through the pages: the browser holds the step in its own cookie, and only the code page
    // answers it.
    const browser = new Browser(t.url);
    const form = await browser.get('/login');
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1];
    const submitted = await browser.postForm('/login', {
      csrf,
      login: account.login,
      password: account.password,
      returnTo: '/account',
    });
    expect(submitted.status).toBe(303);
    expect(Browser.location(submitted)).toBe('/login/mfa?returnTo=%2Faccount');
    expect(browser.cookies.has('il_mfa')).toBe(true);
    expect(browser.cookies.has(t.config.session.cookieName)).toBe(false);
    expect((await browser.get('/login/mfa?returnTo=%2Faccount')).status).toBe(200);
    const account_ = await browser.get('/account');
    expect(account_.status).toBe(303);
    expect(Browser.location(account_)).toBe('/login?returnTo=%2Faccount');
    expect((await browser.get('/api/v1/me')).status).toBe(401);
    expect((await browser.get('/pos/admin')).status).toBe(303);
  });

  it('a password-only session of an operator cannot act before enrolling', async () => {
    // A password session opened before the account became an operator (or before operators had
    // to have a second factor).
    const account = await register(t, uniqueLogin('operator'));
    const old = new Browser(t.url);
    expect((await old.postJson('/api/v1/auth/login', credentials(account))).status).toBe(200);
    await t.em().nativeUpdate(User, { id: account.id }, { isPlatformOperator: true });
    expect((await old.get('/api/v1/me')).status).toBe(401);
    const create = await old.postJson('/api/v1/pos/organizations', {
      name: 'Захваченное управление образования',
      kind: 'authority',
    });
    expect(create.status).toBe(401);

    // The right password now opens no session: enrolment comes first.
    const fresh = new Browser(t.url);
    const login = await fresh.postJson('/api/v1/auth/login', credentials(account));
    expect(login.status).toBe(403);
    expect((await bodyOf(login)).code).toBe('mfa_enrolment_required');
    expect(fresh.cookies.has(t.config.session.cookieName)).toBe(false);
    expect((await fresh.get('/api/v1/me')).status).toBe(401);
    expect(
      (
        await fresh.postJson('/api/v1/pos/organizations', {
          name: 'Захваченное управление образования',
          kind: 'authority',
        })
      ).status,
    ).toBe(401);
  });
});
