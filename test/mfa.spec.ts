import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { MfaCredential } from '../src/identity/mfa-credential.entity.js';
import { MfaRecoveryCode } from '../src/identity/mfa-recovery-code.entity.js';
import { User } from '../src/identity/user.entity.js';
import { Session } from '../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { register, uniqueLogin } from './support/http.js';
import { enrolTotp, loginWithCode, TotpApp } from './support/mfa.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';
import { waitUntil } from './support/wait.js';

/** TOTP as its owner uses it (issue 19): enrolment, login, re-authentication, removal. */

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

async function signedIn(): Promise<{
  browser: Browser;
  account: { login: string; password: string; id: string };
}> {
  const account = await register(t, uniqueLogin('totp'));
  const browser = new Browser(t.url);
  const response = await browser.postJson('/api/v1/auth/login', {
    login: account.login,
    password: account.password,
  });
  expect(response.status).toBe(200);
  return { browser, account };
}

const credentials = (account: { login: string; password: string }) => ({
  login: account.login,
  password: account.password,
});

describe('TOTP second factor', () => {
  it('enrols with a current code after a recent login; the secret is sealed and the ten recovery codes kept only as hashes', async () => {
    const { browser: old, account } = await signedIn();
    // An old session (a login more than 10 minutes ago) may not enrol: someone else may hold it.
    await t
      .em()
      .nativeUpdate(
        Session,
        { user: account.id },
        { authenticatedAt: new Date(Date.now() - 11 * 60_000) },
      );
    // The instance learns of the change from PostgreSQL's notification (the session cache).
    let stale: Response | undefined;
    await waitUntil(async () => {
      stale = await old.postJson('/api/v1/me/mfa/totp', {});
      return stale.status === 403;
    });
    expect(((await stale!.json()) as { code: string }).code).toBe('reauthentication_required');

    const browser = new Browser(t.url);
    expect((await browser.postJson('/api/v1/auth/login', credentials(account))).status).toBe(200);
    const begun = await browser.postJson('/api/v1/me/mfa/totp', {});
    const shown = (await begun.json()) as { secret: string; otpauthUri: string; qrCode: string };
    expect(shown.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(shown.otpauthUri).toContain(`secret=${shown.secret}`);
    expect(shown.qrCode).toMatch(/^data:image\/svg\+xml;base64,/);
    const wrong = await browser.postJson('/api/v1/me/mfa/totp/confirm', { code: '000000' });
    expect(wrong.status).toBe(401);
    expect((await browser.get('/api/v1/me/mfa').then((r) => r.json())) as object).toMatchObject({
      enrolled: false,
    });

    // The same secret until it is confirmed (a reload shows the same QR code).
    const { recoveryCodes } = await enrolTotp(browser);
    expect(recoveryCodes).toHaveLength(10);
    const stored = await t.em().findOneOrFail(MfaCredential, { user: account.id });
    expect(stored.confirmedAt).not.toBeNull();
    expect(stored.sealedSecret).toMatch(/^v1\./);
    expect(stored.sealedSecret).not.toContain(shown.secret);
    const hashes = await t.em().find(MfaRecoveryCode, { user: account.id });
    expect(hashes).toHaveLength(10);
    for (const code of recoveryCodes) {
      expect(hashes.some((h) => h.codeHash.includes(code.replace(/-/g, '')))).toBe(false);
    }
    expect(
      await t.em().count(AuditEvent, { type: 'mfa.totp.enrolled', targetUserId: account.id }),
    ).toBe(1);
    // Enrolled once: a second start is refused.
    expect((await browser.postJson('/api/v1/me/mfa/totp', {})).status).toBe(409);
  });

  it('a password login then asks for the code; the session says amr pwd and otp', async () => {
    const { browser, account } = await signedIn();
    const { app } = await enrolTotp(browser);
    const next = new Browser(t.url);
    const first = await next.postJson('/api/v1/auth/login', credentials(account));
    expect(first.status).toBe(401);
    expect(await first.json()).toMatchObject({
      code: 'mfa_required',
      methods: ['totp', 'recovery_code'],
    });
    const done = await loginWithCode(next, account, await app.code());
    expect(done.status).toBe(200);
    const { accessToken } = (await done.json()) as { accessToken: string };
    expect(decodeJwt(accessToken).amr).toEqual(['pwd', 'otp']);
    const session = (await (await next.get('/api/v1/auth/session')).json()) as object;
    expect(session).toBeDefined();
    // A fresh access token of the same session says the same.
    const token = (await (await next.postJson('/api/v1/auth/token', {})).json()) as {
      accessToken: string;
    };
    expect(decodeJwt(token.accessToken).amr).toEqual(['pwd', 'otp']);
  });

  it('re-authentication asks for the code as well as the password when a factor is enrolled', async () => {
    const { browser, account } = await signedIn();
    const { app } = await enrolTotp(browser);
    const passwordOnly = await browser.postJson('/api/v1/auth/reauthenticate', {
      password: account.password,
    });
    expect(passwordOnly.status).toBe(401);
    expect(((await passwordOnly.json()) as { code: string }).code).toBe('mfa_code_required');
    const withCode = await browser.postJson('/api/v1/auth/reauthenticate', {
      password: account.password,
      code: await app.code(),
    });
    expect(withCode.status).toBe(200);
    const { accessToken } = (await withCode.json()) as { accessToken: string };
    expect(decodeJwt(accessToken).amr).toEqual(['pwd', 'otp']);
  });

  it('removing the factor needs the password and a code', async () => {
    const { browser, account } = await signedIn();
    const { app } = await enrolTotp(browser);
    const remove = (body: object) =>
      browser.request('/api/v1/me/mfa/totp', {
        method: 'DELETE',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await remove({ password: account.password, code: '123456' })).status).toBe(401);
    expect((await remove({ password: 'Wrong#Pass2026', code: await app.code() })).status).toBe(401);
    expect((await remove({ password: account.password, code: await app.code() })).status).toBe(204);
    expect(await t.em().count(MfaCredential, { user: account.id })).toBe(0);
    expect(await t.em().count(MfaRecoveryCode, { user: account.id })).toBe(0);
    expect(
      await t.em().count(AuditEvent, { type: 'mfa.totp.removed', targetUserId: account.id }),
    ).toBe(1);
    // The password alone logs in again.
    const again = await new Browser(t.url).postJson('/api/v1/auth/login', credentials(account));
    expect(again.status).toBe(200);
  });

  it('an operator without a factor enrols on the code page after the password, then lands where the login was going', async () => {
    const account = await register(t, uniqueLogin('operator'));
    await t.em().nativeUpdate(User, { id: account.id }, { isPlatformOperator: true });
    const browser = new Browser(t.url);
    const form = await browser.get('/login?returnTo=%2Fpos%2Fadmin');
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1];
    const posted = await browser.postForm('/login', {
      csrf,
      login: account.login,
      password: account.password,
      returnTo: '/pos/admin',
    });
    expect(Browser.location(posted)).toBe('/login/mfa?returnTo=%2Fpos%2Fadmin');
    const page = await browser.get('/login/mfa?returnTo=%2Fpos%2Fadmin');
    const html = await page.text();
    expect(html).toContain('Подключите приложение-аутентификатор');
    expect(html).toContain('src="data:image/svg+xml;base64,');
    const secret = /id="totp-secret" class="secret">([A-Z2-7]+)</.exec(html)![1];
    const app = new TotpApp(secret);
    const pageCsrf = /name="csrf" value="([^"]+)"/.exec(html)![1];
    const done = await browser.postForm('/login/mfa', {
      csrf: pageCsrf,
      code: await app.code(),
      returnTo: '/pos/admin',
    });
    expect(done.status).toBe(200);
    const codes = [...(await done.text()).matchAll(/<li><code>([0-9A-Z-]{14})<\/code><\/li>/g)];
    expect(codes).toHaveLength(10);
    expect(browser.cookies.has('il_mfa')).toBe(false);
    expect((await browser.get('/api/v1/me')).status).toBe(200);
    expect(
      await t.em().count(AuditEvent, { type: 'mfa.totp.enrolled', targetUserId: account.id }),
    ).toBe(1);
  });
});
