import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { waitInWords } from '../../src/common/errors.js';
import { PasswordCredential } from '../../src/identity/password-credential.entity.js';
import { PasswordHasher } from '../../src/identity/password-hasher.service.js';
import { User } from '../../src/identity/user.entity.js';
import { AuthMethod, Session } from '../../src/sessions/session.entity.js';
import { endSession } from '../../src/sessions/session-ending.js';
import { SessionService } from '../../src/sessions/session.service.js';
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
/** THROTTLE_LIMIT's default: requests per minute per address and route without a live session. */
const ANONYMOUS_PER_MINUTE = 600;
/** THROTTLE_SIGNED_IN_LIMIT's default: requests per minute per signed-in account, every route. */
const SIGNED_IN_PER_MINUTE = 1200;
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

/**
 * The general limit. A request that proves a live session (its cookie, or an access token of a
 * live session) counts against its account's budget, THROTTLE_SIGNED_IN_LIMIT per THROTTLE_TTL
 * over every route; only requests without one count against the address, THROTTLE_LIMIT per
 * THROTTLE_TTL and route. A whole school shares an address; it does not share an account.
 */
describe("a school's page views behind one NATed address", () => {
  /** Signed-in sessions made without the login (no argon2): their cookies. */
  async function sessions(count: number, prefix: string): Promise<string[]> {
    return (await sessionsWithIds(count, prefix)).map(({ cookie }) => cookie);
  }

  async function sessionsWithIds(
    count: number,
    prefix: string,
  ): Promise<{ cookie: string; id: string }[]> {
    const logins = await accounts(count, prefix);
    const em = t.em();
    const users = await em.find(User, { login: { $in: logins } });
    const service = t.app.get(SessionService);
    const made = users.map((user) =>
      service.create(em, user, AuthMethod.Password, { ip: null, userAgent: null, requestId: null }),
    );
    await em.flush();
    return made.map(({ session, token }) => ({
      cookie: `${t.config.session.cookieName}=${token}`,
      id: session.id,
    }));
  }

  const me = (address: string, credentials: { cookie?: string; bearer?: string } = {}) => {
    const call = request(t.http).get('/api/v1/me').set('X-Forwarded-For', address);
    if (credentials.cookie) void call.set('Cookie', credentials.cookie);
    if (credentials.bearer) void call.set('Authorization', `Bearer ${credentials.bearer}`);
    return call;
  };

  /** A session cookie no session has: well-formed, random, never issued. */
  const forgedCookie = () =>
    `${t.config.session.cookieName}=${randomBytes(32).toString('base64url')}`;

  /** Runs `calls` with at most `width` in flight, as a school's browsers do, keeping order. */
  async function inParallel<T>(calls: (() => Promise<T>)[], width = 16): Promise<T[]> {
    const results: T[] = new Array<T>(calls.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < calls.length) {
          const index = next++;
          results[index] = await calls[index]();
        }
      }),
    );
    return results;
  }

  it('looks the session up once per request, for the throttler and the authentication together', async () => {
    const [cookie] = await sessions(1, 'lookups');
    const login = await apiLogin(
      '198.51.100.35',
      (await accounts(1, 'lookups'))[0],
      STRONG_PASSWORD,
    );
    const bearer = login.body.accessToken as string;
    const service = t.app.get(SessionService);
    const lookups = jest.spyOn(service, 'authenticate');
    try {
      await me('198.51.100.35', { cookie }).expect(200);
      expect(lookups).toHaveBeenCalledTimes(1);
      await me('198.51.100.35', { bearer }).expect(200);
      expect(lookups).toHaveBeenCalledTimes(2);
      await me('198.51.100.35', { cookie: forgedCookie() }).expect(401);
      expect(lookups).toHaveBeenCalledTimes(3);
      // A public route looks nothing up: it counts against the address, as it always did.
      await request(t.http)
        .get('/api/v1/password-policy')
        .set('X-Forwarded-For', '198.51.100.35')
        .set('Cookie', cookie)
        .expect(200);
      expect(lookups).toHaveBeenCalledTimes(3);
    } finally {
      lookups.mockRestore();
    }
  });

  it('500 signed-in staff from one address doing 10 requests each in a compressed window all pass', async () => {
    const school = '198.51.100.30';
    const staff = await accounts(STAFF, 'pages');
    // The school's morning: everyone logs in from the one address (the API: cookie and token).
    const devices = await inParallel(
      staff.map((login) => async () => {
        const response = await apiLogin(school, login, STRONG_PASSWORD);
        if (response.status !== 200) throw new Error(`login of ${login}: ${response.status}`);
        const cookie = cookiesOf(response).get(t.config.session.cookieName)!.value;
        return {
          cookie: `${t.config.session.cookieName}=${cookie}`,
          bearer: response.body.accessToken as string,
        };
      }),
      4,
    );
    // Then, round by round, the whole school opens its pages: «Личный кабинет» in the browser,
    // the profile through the API with the cookie, and with the access token (an application).
    const statuses = new Map<string, number>();
    for (let round = 0; round < 10; round++) {
      const results = await inParallel(
        devices.map((device) => async () => {
          const call =
            round % 3 === 0
              ? request(t.http)
                  .get('/account')
                  .set('X-Forwarded-For', school)
                  .set('Cookie', device.cookie)
              : round % 3 === 1
                ? me(school, { cookie: device.cookie })
                : me(school, { bearer: device.bearer });
          return `${round % 3 === 0 ? 'page' : round % 3 === 1 ? 'cookie' : 'bearer'} ${(await call).status}`;
        }),
      );
      for (const result of results) statuses.set(result, (statuses.get(result) ?? 0) + 1);
    }
    // 5,000 requests, far past THROTTLE_LIMIT on one route, all answered.
    expect(Object.fromEntries(statuses)).toEqual({
      'page 200': 4 * STAFF,
      'cookie 200': 3 * STAFF,
      'bearer 200': 3 * STAFF,
    });
  }, 600_000);

  it('one anonymous address flooding is still limited with 429 and Retry-After', async () => {
    const address = '203.0.113.60';
    const [cookie] = await sessions(1, 'beside-flood');
    const statuses: number[] = [];
    for (let i = 0; i < ANONYMOUS_PER_MINUTE + 2; i++) statuses.push((await me(address)).status);
    expect(statuses).toEqual([...Array<number>(ANONYMOUS_PER_MINUTE).fill(401), 429, 429]);
    expectThrottled(await me(address));
    // A page without a session is refused the same way, with the wait in words.
    // (Another route has a count of its own: the public password policy.)
    const policy: number[] = [];
    for (let i = 0; i < ANONYMOUS_PER_MINUTE + 1; i++)
      policy.push(
        (await request(t.http).get('/api/v1/password-policy').set('X-Forwarded-For', address))
          .status,
      );
    expect(policy).toEqual([...Array<number>(ANONYMOUS_PER_MINUTE).fill(200), 429]);
    // Someone signed in behind the same address is not held up by the flood.
    await me(address, { cookie }).expect(200);
    // Another address is not affected.
    await me('203.0.113.61').expect(401);
  }, 300_000);

  it('a forged, unknown or ended session cookie gets no budget of its own: it counts against the address', async () => {
    const address = '203.0.113.70';
    const [{ cookie: live }, { cookie: ended, id: endedId }] = await sessionsWithIds(2, 'forger');
    // A session that has ended (logged out, or ended by «Завершить все сеансы»): it was real.
    await me('203.0.113.71', { cookie: ended }).expect(200);
    const em = t.em();
    const session = await em.findOneOrFail(Session, endedId);
    endSession(session, 'logout');
    await em.flush();
    await me('203.0.113.71', { cookie: ended }).expect(401);
    // Every request brings a cookie: a fresh forged one each time, or the ended session's.
    const statuses: number[] = [];
    for (let i = 0; i < ANONYMOUS_PER_MINUTE; i++)
      statuses.push((await me(address, { cookie: i % 2 === 0 ? forgedCookie() : ended })).status);
    expect(statuses).toEqual(Array<number>(ANONYMOUS_PER_MINUTE).fill(401));
    // The address's budget is spent: a forged cookie, the ended one, a forged access token, none.
    expectThrottled(await me(address, { cookie: forgedCookie() }));
    expectThrottled(await me(address, { cookie: ended }));
    expectThrottled(
      await me(address, { bearer: `e30.${randomBytes(24).toString('base64url')}.x` }),
    );
    expectThrottled(await me(address));
    // A live session from that address has its own budget.
    await me(address, { cookie: live }).expect(200);
  }, 300_000);

  it('one signed-in session flooding is limited per session without blocking the other 499 people of the school', async () => {
    const school = '198.51.100.40';
    const [flooder, ...colleagues] = await sessions(STAFF, 'flood');
    const statuses: number[] = [];
    for (let i = 0; i < SIGNED_IN_PER_MINUTE; i++)
      statuses.push((await me(school, { cookie: flooder })).status);
    expect(statuses).toEqual(Array<number>(SIGNED_IN_PER_MINUTE).fill(200));
    // The account's budget is spent, whichever route it asks for next.
    expectThrottled(await me(school, { cookie: flooder }));
    const page = await request(t.http)
      .get('/account')
      .set('X-Forwarded-For', school)
      .set('Cookie', flooder);
    expect(page.status).toBe(429);
    expect(page.text).toContain('попробуйте через');
    // Everyone else at the school goes on: each colleague, and the address's anonymous traffic.
    const others = await inParallel(
      colleagues.map((cookie) => async () => (await me(school, { cookie })).status),
    );
    expect(others).toEqual(Array<number>(STAFF - 1).fill(200));
    await request(t.http).get('/login').set('X-Forwarded-For', school).expect(200);
  }, 300_000);
});
