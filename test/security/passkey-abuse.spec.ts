import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AuditEvent } from '../../src/audit/audit-event.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { Browser } from '../support/browser.js';
import { register, uniqueLogin } from '../support/http.js';
import {
  enrolPasskey,
  passkeyOptions,
  passwordStep,
  SoftwareAuthenticator,
} from '../support/passkey.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Passkeys under attack (issue 19): someone who has the password (phished, reused, sprayed) and
 * an assertion from somewhere else — an earlier login of the victim's, his own key, a copy of the
 * victim's key, a look-alike site — tries to pass the second step with it.
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

type Account = { login: string; password: string; id: string };

async function withPasskey(
  authenticator = new SoftwareAuthenticator(),
): Promise<{ account: Account; key: SoftwareAuthenticator }> {
  const { login, password, id } = await register(t, uniqueLogin('hwk'));
  const account = { login, password, id };
  const browser = new Browser(t.url);
  const opened = await browser.postJson('/api/v1/auth/login', { login, password });
  expect(opened.status).toBe(200);
  return { account, key: await enrolPasskey(browser, 'Ключ', authenticator) };
}

async function secondStep(browser: Browser, mfaToken: string, assertion: unknown) {
  const response = await browser.postJson('/api/v1/auth/login/mfa', { mfaToken, assertion });
  return { status: response.status, body: (await response.json()) as { code?: string } };
}

async function refusedAs(account: Account, reason: string): Promise<number> {
  const events = await t.em().find(AuditEvent, { type: 'mfa.failed', targetUserId: account.id });
  return events.filter((event) => (event.details as { reason?: string }).reason === reason).length;
}

describe('attack: passkey assertions out of place', () => {
  it('a replayed assertion (the same challenge twice) is refused', async () => {
    // A key that reports no counter (as synced passkeys do): only the challenge stops a replay.
    const { account, key } = await withPasskey(new SoftwareAuthenticator({ counts: false }));
    const victim = new Browser(t.url);
    const victimToken = await passwordStep(victim, account);
    const captured = key.assert(await passkeyOptions(victim, victimToken), t.url);
    expect((await secondStep(victim, victimToken, captured)).status).toBe(200);

    // The attacker knows the password and replays the captured assertion on his own step, for
    // which he even had a challenge issued.
    const attacker = new Browser(t.url);
    const attackerToken = await passwordStep(attacker, account);
    await passkeyOptions(attacker, attackerToken);
    const replayed = await secondStep(attacker, attackerToken, captured);
    expect(replayed).toEqual({
      status: 401,
      body: expect.objectContaining({ code: 'invalid_passkey' }),
    });
    expect(await refusedAs(account, 'unknown_challenge')).toBe(1);
  });

  it('a challenge is used once even where its binding still holds: a second key over the same registration challenge is refused', async () => {
    const { login, password } = await register(t, uniqueLogin('hwk'));
    const browser = new Browser(t.url);
    expect((await browser.postJson('/api/v1/auth/login', { login, password })).status).toBe(200);
    const options = (await (
      await browser.postJson('/api/v1/me/mfa/passkeys/options', {})
    ).json()) as { challenge: string; rp: { id?: string } };
    const add = (key: SoftwareAuthenticator) =>
      browser.postJson('/api/v1/me/mfa/passkeys', {
        name: 'Ключ',
        attestation: key.attest(options, t.url),
      });
    expect((await add(new SoftwareAuthenticator())).status).toBe(201);
    // The same session (the challenge's binding) is still live: only single use refuses this.
    const second = await add(new SoftwareAuthenticator());
    expect(second.status).toBe(422);
    expect(((await second.json()) as { code: string }).code).toBe('passkey_registration_failed');
  });

  it("an assertion over another user's challenge is refused", async () => {
    const victim = await withPasskey();
    const attacker = await withPasskey();
    // The attacker passes his own second step's challenge with his own key, and hands that
    // assertion to the victim's step (whose password he has).
    const own = new Browser(t.url);
    const ownToken = await passwordStep(own, attacker.account);
    const assertion = attacker.key.assert(await passkeyOptions(own, ownToken), t.url);
    const browser = new Browser(t.url);
    const victimToken = await passwordStep(browser, victim.account);
    await passkeyOptions(browser, victimToken);
    const result = await secondStep(browser, victimToken, assertion);
    expect(result.status).toBe(401);
    expect(result.body.code).toBe('invalid_passkey');
    expect(await refusedAs(victim.account, 'unknown_challenge')).toBe(1);
    // His own key over the victim's challenge does no better.
    const again = await passwordStep(browser, victim.account);
    const signed = attacker.key.assert(await passkeyOptions(browser, again), t.url);
    expect((await secondStep(browser, again, signed)).status).toBe(401);
    expect(await refusedAs(victim.account, 'unknown_key')).toBe(1);
  });

  it('a signature counter going backwards (a cloned key) is refused', async () => {
    const { account, key } = await withPasskey();
    for (let i = 0; i < 3; i++) {
      const browser = new Browser(t.url);
      const mfaToken = await passwordStep(browser, account);
      const assertion = key.assert(await passkeyOptions(browser, mfaToken), t.url);
      expect((await secondStep(browser, mfaToken, assertion)).status).toBe(200);
    }
    // The clone was copied when the counter stood at 1.
    const browser = new Browser(t.url);
    const mfaToken = await passwordStep(browser, account);
    const cloned = key.assert(await passkeyOptions(browser, mfaToken), t.url, { counter: 2 });
    const result = await secondStep(browser, mfaToken, cloned);
    expect(result.status).toBe(401);
    expect(result.body.code).toBe('invalid_passkey');
  });

  it('an assertion made for another origin or another rpId is refused', async () => {
    const { account, key } = await withPasskey();
    const browser = new Browser(t.url);
    const mfaToken = await passwordStep(browser, account);
    // A look-alike site relayed the real challenge to the victim's browser.
    const phished = key.assert(
      await passkeyOptions(browser, mfaToken),
      'http://127.0.0.1.evil.example',
    );
    expect((await secondStep(browser, mfaToken, phished)).status).toBe(401);
    const foreignRp = key.assert(await passkeyOptions(browser, mfaToken), t.url, {
      rpId: 'evil.example',
    });
    expect((await secondStep(browser, mfaToken, foreignRp)).status).toBe(401);
    expect(await refusedAs(account, 'bad_assertion')).toBe(2);
    // The genuine one still works on the same step (under CHALLENGE_MAX_ATTEMPTS).
    const genuine = key.assert(await passkeyOptions(browser, mfaToken), t.url);
    expect((await secondStep(browser, mfaToken, genuine)).status).toBe(200);
  });
});
