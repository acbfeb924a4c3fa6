import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { waitInWords } from '../../src/common/errors.js';
import { PasswordCredential } from '../../src/identity/password-credential.entity.js';
import { PasswordHasher } from '../../src/identity/password-hasher.service.js';
import { User } from '../../src/identity/user.entity.js';
import { Session } from '../../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { cookiesOf, STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * A whole school behind one NATed address, against a password spray from one address, with the
 * default configuration: nothing about throttling or lockout is overridden here (TRUST_PROXY only
 * lets the test speak from several addresses). The numbers proven are the defaults':
 * THROTTLE_LOGIN_LIMIT 1000 attempts per THROTTLE_LOGIN_WINDOW 10 minutes, THROTTLE_AUTH_LIMIT 20
 * failed logins per THROTTLE_TTL 1 minute, LOCKOUT_FAILURE_FACTOR 30 per (account, address).
 *
 * Time is compressed, not scaled: the school's 500 logins arrive within a minute or two rather
 * than ten. Every limit is a fixed-window count, so all of them falling into one window is the
 * worst case of «500 within 10 minutes»: however they spread over ten minutes, no window sees more.
 */

const DEFAULTS = { TRUST_PROXY: 'loopback' };
const STAFF = 500;
/** Staff who mistype their password once before getting it right, in the same minute. */
const TYPOS = 15;
const SPRAYED = 50;
/** THROTTLE_AUTH_LIMIT's default. */
const FAILED_LOGINS_PER_MINUTE = 20;
/** LOCKOUT_FAILURE_FACTOR's default. */
const PAIR_FAILURES = 30;

let t: TestApp;
let hash: string;

beforeAll(async () => {
  t = await startTestApp(DEFAULTS);
  // One argon2 hash with the default parameters for every account: 500 registrations would
  // spend the test's time on hashing, and a login verifies the same hash either way.
  hash = await t.app.get(PasswordHasher).hash(STRONG_PASSWORD);
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t?.close();
});

/** Accounts with STRONG_PASSWORD, made through the database. */
async function accounts(count: number, prefix: string): Promise<string[]> {
  const em = t.em();
  const logins: string[] = [];
  for (let i = 0; i < count; i++) {
    const user = new User(uniqueLogin(prefix));
    em.persist([user, new PasswordCredential(user, hash)]);
    logins.push(user.login);
  }
  await em.flush();
  return logins;
}

const apiLogin = (address: string, login: string, password: string) =>
  request(t.http)
    .post('/api/v1/auth/login')
    .set('X-Forwarded-For', address)
    .send({ login, password });

/** The login page as a browser uses it: the form (and its token), then the post. */
async function pageLogin(address: string, login: string, password: string) {
  const form = await request(t.http).get('/login').set('X-Forwarded-For', address);
  const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1];
  const cookie = [...cookiesOf(form)].map(([name, { value }]) => `${name}=${value}`).join('; ');
  if (!csrf || !cookie) throw new Error(`no login form: ${form.status}`);
  return request(t.http)
    .post('/login')
    .set('X-Forwarded-For', address)
    .set('Cookie', cookie)
    .type('form')
    .send({ csrf, login, password });
}

/** A throttled answer as the API gives it: 429, Retry-After within the minute, Russian text. */
function expectThrottled(response: request.Response): number {
  expect(response.status).toBe(429);
  const wait = Number(response.headers['retry-after']);
  expect(wait).toBeGreaterThan(0);
  expect(wait).toBeLessThanOrEqual(60);
  expect(response.body).toEqual({
    statusCode: 429,
    code: 'too_many_requests',
    message: `Слишком много запросов, попробуйте через ${waitInWords(wait)}`,
  });
  return wait;
}

describe('a school behind one NATed address', () => {
  it('500 logins in 10 minutes from one address with 500 different accounts succeed', async () => {
    const school = '198.51.100.10';
    const staff = await accounts(STAFF, 'staff');
    const outcomes: string[] = [];
    for (const [i, login] of staff.entries()) {
      // Some mistype first, as people do at 8:00: failures the school's budget absorbs.
      if (i % Math.floor(STAFF / TYPOS) === 0 && i / Math.floor(STAFF / TYPOS) < TYPOS) {
        const typo = await apiLogin(school, login, `${STRONG_PASSWORD}x`);
        outcomes.push(`typo ${typo.status}`);
      }
      // Both doors, as a school uses both: the API (apps) and the page (browsers).
      const response =
        i % 2 === 0
          ? await apiLogin(school, login, STRONG_PASSWORD)
          : await pageLogin(school, login, STRONG_PASSWORD);
      outcomes.push(
        response.status === 200 || response.status === 303 ? 'in' : `${i} ${response.status}`,
      );
    }
    expect(outcomes.filter((outcome) => outcome === 'typo 401')).toHaveLength(TYPOS);
    expect(outcomes.filter((outcome) => outcome !== 'typo 401')).toEqual(
      Array<string>(STAFF).fill('in'),
    );
    const users = await t.em().find(User, { login: { $in: staff } });
    expect(await t.em().count(Session, { user: { $in: users } })).toBe(STAFF);
  }, 600_000);

  it("one login's wrong passwords from the school lock only that (address, login) pair: colleagues there, and its owner elsewhere, log in", async () => {
    const school = '198.51.100.20';
    const home = '198.51.100.21';
    const [teacher, colleague] = await accounts(2, 'teacher');
    const statuses: number[] = [];
    // More failures than the address's budget of failed logins, all on one login.
    for (let i = 0; i < PAIR_FAILURES; i++)
      statuses.push((await apiLogin(school, teacher, `Guess#${i}x`)).status);
    expect(statuses).toEqual(Array<number>(PAIR_FAILURES).fill(401));
    // The pair is locked: from the school even the right password is refused, with the one
    // generic answer (a lock must not tell a guesser that the account exists).
    await apiLogin(school, teacher, STRONG_PASSWORD).expect(401);
    const credential = await t.em().findOneOrFail(PasswordCredential, { user: { login: teacher } });
    expect(credential.failureCount).toBe(PAIR_FAILURES);
    // The school's address is not throttled: a colleague there logs in.
    await apiLogin(school, colleague, STRONG_PASSWORD).expect(200);
    // Another address is not affected: the teacher logs in from home.
    await apiLogin(home, teacher, STRONG_PASSWORD).expect(200);
  }, 120_000);
});

describe('a password spray from one address', () => {
  it('50 wrong passwords for 50 accounts from one address are slowed', async () => {
    const attacker = '203.0.113.50';
    const victims = await accounts(SPRAYED, 'victim');
    const responses: request.Response[] = [];
    for (const login of victims) responses.push(await apiLogin(attacker, login, 'Leto#2026spray'));
    const statuses = responses.map((response) => response.status);
    // «Slowed»: the first 20 failed logins are checked and answered 401; from the 21st on, within
    // the minute, every attempt is refused 429 with Retry-After before any password is checked.
    expect(statuses).toEqual([
      ...Array<number>(FAILED_LOGINS_PER_MINUTE).fill(401),
      ...Array<number>(SPRAYED - FAILED_LOGINS_PER_MINUTE).fill(429),
    ]);
    for (const response of responses.slice(FAILED_LOGINS_PER_MINUTE)) expectThrottled(response);
    const em = t.em();
    for (const [i, login] of victims.entries()) {
      const credential = await em.findOneOrFail(PasswordCredential, { user: { login } });
      expect(credential.failureCount).toBe(i < FAILED_LOGINS_PER_MINUTE ? 1 : 0);
    }
    // The whole address waits, the right password included: nothing is learnt while throttled.
    const wait = expectThrottled(await apiLogin(attacker, victims[0], STRONG_PASSWORD));
    const page = await pageLogin(attacker, victims[1], STRONG_PASSWORD);
    expect(page.status).toBe(429);
    expect(page.text).toContain('попробуйте через');

    // A different address is not affected: its wrong password is checked, its right one gets in.
    const neighbour = '203.0.113.51';
    await apiLogin(neighbour, victims[SPRAYED - 1], 'Leto#2026spray').expect(401);
    await apiLogin(neighbour, victims[SPRAYED - 2], STRONG_PASSWORD).expect(200);

    // Slowed, not stopped: after Retry-After the address is heard again.
    await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 500));
    await apiLogin(attacker, victims[SPRAYED - 3], 'Leto#2026spray').expect(401);
    await apiLogin(attacker, victims[SPRAYED - 4], STRONG_PASSWORD).expect(200);
  }, 180_000);

  it('counts a spray from one IPv6 /64 as one address, whatever host part each guess comes from', async () => {
    const victims = await accounts(FAILED_LOGINS_PER_MINUTE + 1, 'victim6');
    const statuses: number[] = [];
    for (const [i, login] of victims.entries())
      statuses.push((await apiLogin(`2001:db8:5:6::${i + 1}`, login, 'Leto#2026spray')).status);
    expect(statuses).toEqual([...Array<number>(FAILED_LOGINS_PER_MINUTE).fill(401), 429]);
    // Another /64 is another address.
    await apiLogin('2001:db8:5:7::1', victims[0], STRONG_PASSWORD).expect(200);
  }, 60_000);
});
