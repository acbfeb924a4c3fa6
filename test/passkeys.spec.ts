import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { Passkey } from '../src/identity/passkey.entity.js';
import { User } from '../src/identity/user.entity.js';
import { Session } from '../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { Browser } from './support/browser.js';
import { register, uniqueLogin } from './support/http.js';
import {
  enrolPasskey,
  passkeyOptions,
  passwordStep,
  SoftwareAuthenticator,
} from './support/passkey.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/** Passkeys as a second factor as their owner uses them (issue 19), through the API. */

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

async function signedIn(prefix = 'passkey'): Promise<{
  browser: Browser;
  account: { login: string; password: string; id: string };
}> {
  const account = await register(t, uniqueLogin(prefix));
  const browser = new Browser(t.url);
  const response = await browser.postJson('/api/v1/auth/login', {
    login: account.login,
    password: account.password,
  });
  expect(response.status).toBe(200);
  return { browser, account };
}

describe('passkeys', () => {
  it('a recent login adds a named key: credential id, public key and counter kept; listed; audited', async () => {
    const { browser, account } = await signedIn();
    const key = await enrolPasskey(browser, 'Ноутбук');
    const stored = await t.em().findOneOrFail(Passkey, { user: account.id }, { refresh: true });
    expect(stored).toMatchObject({
      credentialId: key.id,
      name: 'Ноутбук',
      transports: ['internal'],
    });
    expect(Buffer.from(stored.publicKey, 'base64url').length).toBeGreaterThan(64);
    const listed = (await (await browser.get('/api/v1/me/mfa/passkeys')).json()) as {
      name: string;
    }[];
    expect(listed.map((k) => k.name)).toEqual(['Ноутбук']);
    expect(
      await t.em().count(AuditEvent, { type: 'mfa.passkey.enrolled', targetUserId: account.id }),
    ).toBe(1);
  });

  it('an old session may not add a key (reauthentication_required)', async () => {
    const { browser, account } = await signedIn();
    await t
      .em()
      .nativeUpdate(
        Session,
        { user: account.id },
        { authenticatedAt: new Date(Date.now() - 11 * 60_000) },
      );
    let status = 0;
    for (let i = 0; i < 50 && status !== 403; i++) {
      status = (await browser.postJson('/api/v1/me/mfa/passkeys/options', {})).status;
      if (status !== 403) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(403);
  });

  it('the same key cannot be added to a second account: 409, the database keeps credential ids unique', async () => {
    const key = await enrolPasskey((await signedIn()).browser);
    const other = await signedIn();
    await expect(enrolPasskey(other.browser, 'Чужой', key)).rejects.toThrow(/409/);
    expect(await t.em().count(Passkey, { credentialId: key.id })).toBe(1);
  });

  it('a password login then takes the passkey; the session and its tokens say amr pwd and hwk', async () => {
    const { browser, account } = await signedIn();
    const key = await enrolPasskey(browser);
    const next = new Browser(t.url);
    const mfaToken = await passwordStep(next, account);
    const options = await passkeyOptions(next, mfaToken);
    expect(options.rpId).toBe('127.0.0.1');
    const done = await next.postJson('/api/v1/auth/login/mfa', {
      mfaToken,
      assertion: key.assert(options, t.url),
    });
    expect(done.status).toBe(200);
    const { accessToken } = (await done.json()) as { accessToken: string };
    expect(decodeJwt(accessToken).amr).toEqual(['pwd', 'hwk']);
    const token = (await (await next.postJson('/api/v1/auth/token', {})).json()) as {
      accessToken: string;
    };
    expect(decodeJwt(token.accessToken).amr).toEqual(['pwd', 'hwk']);
    const stored = await t.em().findOneOrFail(Passkey, { credentialId: key.id }, { refresh: true });
    expect(Number(stored.counter)).toBe(key.counter);
    expect(stored.lastUsedAt).not.toBeNull();
  });

  it('neither code nor assertion, or both: 422', async () => {
    const { account, browser } = await signedIn();
    await enrolPasskey(browser);
    const next = new Browser(t.url);
    const mfaToken = await passwordStep(next, account);
    const none = await next.postJson('/api/v1/auth/login/mfa', { mfaToken });
    expect(none.status).toBe(422);
    const garbage = await next.postJson('/api/v1/auth/login/mfa', {
      mfaToken,
      assertion: { id: 'x', response: 'nonsense' },
    });
    expect(garbage.status).toBe(401);
    expect(((await garbage.json()) as { code: string }).code).toBe('invalid_passkey');
  });

  it('a platform operator with only a passkey is asked for it, not made to enrol an app', async () => {
    const { browser, account } = await signedIn('operator');
    const key = await enrolPasskey(browser);
    await t.em().nativeUpdate(User, { id: account.id }, { isPlatformOperator: true });
    const next = new Browser(t.url);
    const mfaToken = await passwordStep(next, account);
    const done = await next.postJson('/api/v1/auth/login/mfa', {
      mfaToken,
      assertion: key.assert(await passkeyOptions(next, mfaToken), t.url),
    });
    expect(done.status).toBe(200);
  });

  it('re-authentication takes the password and the passkey (amr pwd and hwk); the password alone is refused', async () => {
    const { browser, account } = await signedIn();
    const key = await enrolPasskey(browser);
    const passwordOnly = await browser.postJson('/api/v1/auth/reauthenticate', {
      password: account.password,
    });
    expect(passwordOnly.status).toBe(401);
    expect(((await passwordOnly.json()) as { code: string }).code).toBe('mfa_passkey_required');
    const options = (await (
      await browser.postJson('/api/v1/me/mfa/passkeys/reauthentication-options', {})
    ).json()) as { challenge: string };
    const done = await browser.postJson('/api/v1/auth/reauthenticate', {
      password: account.password,
      assertion: key.assert(options, t.url),
    });
    expect(done.status).toBe(200);
    const { accessToken } = (await done.json()) as { accessToken: string };
    expect(decodeJwt(accessToken).amr).toEqual(['pwd', 'hwk']);
  });

  it('removing a key needs a recent login; the password alone logs in again afterwards', async () => {
    const { browser, account } = await signedIn();
    await enrolPasskey(browser);
    const [key] = (await (await browser.get('/api/v1/me/mfa/passkeys')).json()) as { id: string }[];
    const other = await signedIn();
    const foreign = await other.browser.request(`/api/v1/me/mfa/passkeys/${key.id}`, {
      method: 'DELETE',
    });
    expect(foreign.status).toBe(404);
    const removed = await browser.request(`/api/v1/me/mfa/passkeys/${key.id}`, {
      method: 'DELETE',
    });
    expect(removed.status).toBe(204);
    expect(await t.em().count(Passkey, { user: account.id })).toBe(0);
    const again = await new Browser(t.url).postJson('/api/v1/auth/login', {
      login: account.login,
      password: account.password,
    });
    expect(again.status).toBe(200);
  });
});

// A synced passkey that reports no counter is still accepted, each time over a new challenge.
describe('passkeys without a signature counter', () => {
  it('log in twice with a key that always reports 0', async () => {
    const { browser, account } = await signedIn();
    const key = await enrolPasskey(
      browser,
      'Телефон',
      new SoftwareAuthenticator({ counts: false }),
    );
    for (let i = 0; i < 2; i++) {
      const next = new Browser(t.url);
      const mfaToken = await passwordStep(next, account);
      const done = await next.postJson('/api/v1/auth/login/mfa', {
        mfaToken,
        assertion: key.assert(await passkeyOptions(next, mfaToken), t.url),
      });
      expect(done.status).toBe(200);
    }
  });
});
