import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { AuditEvent } from '../../src/audit/audit-event.entity.js';
import { PasswordCredential } from '../../src/identity/password-credential.entity.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { cookiesOf, STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Getting around the per-address credential throttle: forged X-Forwarded-For, and one password
 * sprayed over many accounts through both login doors (the JSON API and the login page).
 */

const LIMIT = 5;
const SPRAYED = 'Leto#2026spray';

/** What reached the service's login logic: everything but the throttle's 429. */
const reached = (statuses: number[]) => statuses.filter((status) => status !== 429).length;

function apiLogin(t: TestApp, forwardedFor: string | undefined, login: string, password: string) {
  const call = request(t.http).post('/api/v1/auth/login');
  if (forwardedFor !== undefined) call.set('X-Forwarded-For', forwardedFor);
  return call.send({ login, password });
}

/** The login page as a browser uses it: fetch the form (and its token), then post it. */
async function pageLogin(t: TestApp, forwardedFor: string, login: string, password: string) {
  const form = await request(t.http).get('/login').set('X-Forwarded-For', forwardedFor);
  const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1];
  const cookie = [...cookiesOf(form)].map(([name, { value }]) => `${name}=${value}`).join('; ');
  if (!csrf || !cookie) throw new Error(`no login form: ${form.status}`);
  return request(t.http)
    .post('/login')
    .set('X-Forwarded-For', forwardedFor)
    .set('Cookie', cookie)
    .type('form')
    .send({ csrf, login, password });
}

async function failedLoginAddresses(t: TestApp, since: Date): Promise<string[]> {
  const events = await t
    .em()
    .find(AuditEvent, { type: 'login.failed', createdAt: { $gte: since } });
  return [...new Set(events.map((event) => event.ip ?? 'none'))];
}

describe('rotating X-Forwarded-For with no proxy trusted (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ THROTTLE_AUTH_LIMIT: String(LIMIT) });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  it('does not get around the login throttle by sending a new X-Forwarded-For each time', async () => {
    const since = new Date();
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 3; i++) {
      const response = await apiLogin(t, `203.0.113.${i + 1}`, uniqueLogin('xff'), SPRAYED);
      statuses.push(response.status);
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429, 429, 429]);
    // The forged header reached neither the counter nor the audit log.
    const addresses = await failedLoginAddresses(t, since);
    expect(addresses).toHaveLength(1);
    expect(addresses[0]).toMatch(/127\.0\.0\.1$/);
  });
});

describe.each([['loopback'], ['1']])('behind a trusted proxy (TRUST_PROXY=%s)', (trustProxy) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ THROTTLE_AUTH_LIMIT: String(LIMIT), TRUST_PROXY: trustProxy });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  it('counts the address the proxy appends, not the left-most one the client wrote', async () => {
    const since = new Date();
    const client = '198.51.100.23';
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 3; i++) {
      // The client sends its own X-Forwarded-For; the proxy appends the address it saw.
      const forged = `203.0.113.${i + 1}, 10.0.0.${i + 1}`;
      const response = await apiLogin(t, `${forged}, ${client}`, uniqueLogin('xff'), SPRAYED);
      statuses.push(response.status);
    }
    expect(statuses).toEqual([...Array(LIMIT).fill(401), 429, 429, 429]);
    expect(await failedLoginAddresses(t, since)).toEqual([client]);
    // Another client behind the same proxy has its own budget, whatever it writes on the left.
    const neighbour = await apiLogin(t, `${client}, 198.51.100.24`, uniqueLogin('xff'), SPRAYED);
    expect(neighbour.status).toBe(401);
  });
});

describe('password spraying from one address through both login doors', () => {
  const VICTIMS = 4 * LIMIT;
  const ATTACKER = '203.0.113.66';
  let t: TestApp;
  const victims: { login: string; address: string }[] = [];
  const statuses: number[] = [];

  beforeAll(async () => {
    t = await startTestApp({
      THROTTLE_AUTH_LIMIT: String(LIMIT),
      TRUST_PROXY: 'loopback',
      // A small lockout factor, so that any failure the spray leaves behind would show.
      LOCKOUT_FAILURE_FACTOR: '3',
    });
    for (let i = 0; i < VICTIMS; i++) {
      // Each owner registers from an address of their own.
      const victim = { login: uniqueLogin('victim'), address: `198.51.100.${i + 1}` };
      await request(t.http)
        .post('/api/v1/accounts')
        .set('X-Forwarded-For', victim.address)
        .send({ login: victim.login, password: STRONG_PASSWORD })
        .expect(201);
      victims.push(victim);
    }
    // One password, every account once, alternating the JSON API and the login page.
    for (const [i, victim] of victims.entries()) {
      const response =
        i % 2 === 0
          ? await apiLogin(t, ATTACKER, victim.login, SPRAYED)
          : await pageLogin(t, ATTACKER, victim.login, SPRAYED);
      statuses.push(response.status);
    }
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await t.close();
  });

  it('lets one address try only THROTTLE_AUTH_LIMIT guesses per window, whichever door it uses', () => {
    expect(reached(statuses)).toBe(LIMIT);
    expect(statuses.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(401));
    expect(statuses.slice(LIMIT)).toEqual(Array(VICTIMS - LIMIT).fill(429));
  });

  it('leaves no victim locked: at most one failure each, none for throttled guesses, owners log in', async () => {
    const em = t.em();
    for (const [i, victim] of victims.entries()) {
      const credential = await em.findOneOrFail(PasswordCredential, {
        user: { login: victim.login },
      });
      expect(credential.failureCount).toBe(i < LIMIT ? 1 : 0);
      expect(credential.lockedUntil).toBeNull();
      const owner = await apiLogin(t, victim.address, victim.login, STRONG_PASSWORD);
      expect(owner.status).toBe(200);
    }
  });
});
