import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { AuditEvent } from '../../src/audit/audit-event.entity.js';
import { PasswordCredential } from '../../src/identity/password-credential.entity.js';
import { User } from '../../src/identity/user.entity.js';
import { LoginFailure } from '../../src/sessions/login-failure.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { TestSmtp } from '../support/smtp.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Lockout as a weapon: an attacker who knows a login guesses wrong on purpose to keep its owner
 * out. The hard lock is per (account, address), so it holds the attacker's addresses only; the
 * account-wide counter slows every address down without locking the owner out for long.
 */

// The defaults' shape at a tenth of their size, so the test stays fast: 30 → 3 per pair,
// 100 → 10 for the account-wide slow-down.
const PAIR_FACTOR = 3;
const ACCOUNT_FACTOR = 10;

const smtp = new TestSmtp();
let t: TestApp;
beforeAll(async () => {
  await smtp.start();
  t = await startTestApp({
    SMTP_URL: smtp.url,
    TRUST_PROXY: 'loopback',
    LOCKOUT_FAILURE_FACTOR: String(PAIR_FACTOR),
    LOCKOUT_WAIT_INCREMENT: '15m',
    LOCKOUT_MAX_WAIT: '15m',
    LOCKOUT_ACCOUNT_FAILURE_FACTOR: String(ACCOUNT_FACTOR),
    LOCKOUT_ACCOUNT_DELAY: '1s',
    THROTTLE_AUTH_LIMIT: '100000',
    THROTTLE_LIMIT: '100000',
  });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
  await smtp.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const attempt = (address: string, login: string, password: string) =>
  request(t.http)
    .post('/api/v1/auth/login')
    .set('X-Forwarded-For', address)
    .send({ login, password });

/** An account its owner registered (and logs in) from 198.51.100.7. */
async function account(): Promise<{ login: string; id: string }> {
  const login = uniqueLogin('owner');
  const response = await request(t.http)
    .post('/api/v1/accounts')
    .set('X-Forwarded-For', '198.51.100.7')
    .send({ login, password: STRONG_PASSWORD })
    .expect(201);
  return { login, id: response.body.id as string };
}

const reasons = async (userId: string, since: Date) =>
  (
    await t.em().find(AuditEvent, {
      type: 'login.failed',
      targetUserId: userId,
      createdAt: { $gte: since },
    })
  ).map((event) => event.details.reason);

describe('lockout held by an attacker', () => {
  it("an attacker's wrong guesses from two addresses do not lock the owner out: the owner logs in from a third address", async () => {
    const { login, id } = await account();
    // The attacker locks both of its addresses: twice the pair's factor, from two places.
    for (const address of ['203.0.113.10', '2001:db8:1:2::10']) {
      for (let i = 0; i < PAIR_FACTOR; i++)
        await attempt(address, login, `Wrong#Guess${i}`).expect(401);
      // The attacker's own address is locked: even the right password is refused there.
      await attempt(address, login, STRONG_PASSWORD).expect(401);
    }
    // Another address in the same IPv6 /64 is the same source.
    await attempt('2001:db8:1:2::99', login, STRONG_PASSWORD).expect(401);

    await attempt('198.51.100.7', login, STRONG_PASSWORD).expect(200);
    const pairs = await t.em().find(LoginFailure, { credential: { user: id } });
    expect(pairs.map((pair) => pair.address).sort()).toEqual(['2001:db8:1:2::/64', '203.0.113.10']);
    expect(pairs.every((pair) => pair.lockedUntil!.getTime() > Date.now())).toBe(true);
  });

  it('a spray from one address is slowed', async () => {
    const { login, id } = await account();
    const since = new Date();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++)
      statuses.push((await attempt('203.0.113.20', login, `Spray#Guess${i}`)).status);
    expect(statuses).toEqual(Array(20).fill(401));
    // Only the first PAIR_FACTOR guesses were checked; the rest met the lock and counted nothing.
    const credential = await t
      .em()
      .findOneOrFail(PasswordCredential, { user: { login } }, { refresh: true });
    expect(credential.failureCount).toBe(PAIR_FACTOR);
    const seen = await reasons(id, since);
    expect(seen.filter((reason) => reason === 'wrong_password')).toHaveLength(PAIR_FACTOR);
    expect(seen.filter((reason) => reason === 'locked')).toHaveLength(20 - PAIR_FACTOR);
    // Slowed there only: the owner, elsewhere, is not held by it.
    await attempt('198.51.100.7', login, STRONG_PASSWORD).expect(200);
  });

  it('a spray on one account from many addresses is slowed, and the owner gets in after the pause', async () => {
    const { login, id } = await account();
    const since = new Date();
    // One guess from each of many addresses: no pair ever locks.
    for (let i = 0; i < ACCOUNT_FACTOR; i++)
      await attempt(`192.0.2.${i + 1}`, login, `Spray#Guess${i}`).expect(401);
    const slowed = await t
      .em()
      .findOneOrFail(PasswordCredential, { user: { login } }, { refresh: true });
    expect(slowed.lockedUntil!.getTime()).toBeGreaterThan(Date.now());
    // During the pause no address is checked, the owner's included.
    await attempt('192.0.2.200', login, 'Spray#GuessX').expect(401);
    await attempt('198.51.100.7', login, STRONG_PASSWORD).expect(401);
    expect((await reasons(id, since)).filter((reason) => reason === 'slowed')).toHaveLength(2);
    // The pause is short, not the pair lock's wait.
    await sleep(slowed.lockedUntil!.getTime() - Date.now() + 100);
    await attempt('198.51.100.7', login, STRONG_PASSWORD).expect(200);
  });

  it('the owner is notified once when a lock engages', async () => {
    const { login, id } = await account();
    const email = `${login}@school.example`;
    await t.em().nativeUpdate(User, { id }, { email });
    // Two of the attacker's addresses locked within the hour: one notice, for the first.
    for (const address of ['203.0.113.30', '203.0.113.31'])
      for (let i = 0; i < PAIR_FACTOR; i++)
        await attempt(address, login, `Wrong#Guess${i}`).expect(401);
    const notice = await smtp.waitFor(email, 20_000, 'ограничен');
    expect(notice.text).toContain(login);
    expect(notice.text).toContain('203.0.113.30');
    expect(notice.text).toContain('Госуслуги');
    expect(notice.text).toContain('/forgot-password');
    // Give the outbox time to send a second one, were there one.
    await sleep(1_500);
    expect(smtp.received.filter((mail) => mail.to.includes(email))).toHaveLength(1);
    expect(await t.em().count(AuditEvent, { type: 'login.locked_out', targetUserId: id })).toBe(2);
  });
});
