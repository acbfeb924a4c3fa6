import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { ENTITIES } from '../../src/entities.js';
import { Membership } from '../../src/pos/membership.entity.js';
import { Browser } from '../support/browser.js';
import { confirmationState, confirmLink, throughStandIn } from '../support/gosuslugi.js';
import { STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { type RunningService, startService } from '../support/service.js';
import { invitationLink, TestSmtp } from '../support/smtp.js';
import { waitUntil } from '../support/wait.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';
import { loginEnrolling } from '../support/mfa.js';

/**
 * Two instances of the built service on two loopback ports, one database, one PUBLIC_URL (as
 * behind a load balancer): nothing either of them keeps in memory may matter to the other.
 */
const smtp = new TestSmtp();
let a: RunningService;
let b: RunningService;
let orm: MikroORM;
let operator: Browser;
const AUTH_LIMIT = 12;

beforeAll(async () => {
  await smtp.start();
  const shared = {
    SMTP_URL: smtp.url,
    THROTTLE_AUTH_LIMIT: String(AUTH_LIMIT),
    LOCKOUT_FAILURE_FACTOR: '4',
  };
  a = await startService({ env: shared });
  b = await startService({
    database: a.database,
    dataDir: a.dataDir,
    publicUrl: a.publicUrl,
    env: shared,
  });
  // The operator printed by the instance that started last is the valid one; logged in before
  // the throttling test spends this address's credential budget.
  operator = new Browser(b.url);
  // An operator enrols a second factor at the first password login (issue 19).
  await loginEnrolling(operator, b.operator);
  orm = await MikroORM.init({
    clientUrl: a.database.url,
    entities: ENTITIES,
    allowGlobalContext: true,
  });
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await orm?.close();
  await b?.stop();
  await a?.stop();
  await smtp.stop();
});

/** The same cookies, talking to the other instance. */
function sameBrowserOn(instance: RunningService, browser: Browser): Browser {
  const moved = new Browser(instance.url);
  for (const [name, value] of browser.cookies) moved.cookies.set(name, value);
  return moved;
}

async function registered(on: RunningService): Promise<{ login: string; password: string }> {
  const login = uniqueLogin('multi');
  const response = await new Browser(on.url).postJson('/api/v1/accounts', {
    login,
    password: STRONG_PASSWORD,
  });
  expect(response.status).toBe(201);
  return { login, password: STRONG_PASSWORD };
}

describe('two instances, one database', () => {
  it('a session and an access token from A work on B, and a logout on B ends them on A', async () => {
    const account = await registered(a);
    const onA = new Browser(a.url);
    const login = await onA.postJson('/api/v1/auth/login', account);
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const onB = sameBrowserOn(b, onA);
    // A has the session in its cache now: B's logout must reach it through the database.
    expect((await onA.get('/api/v1/me')).status).toBe(200);
    expect((await onB.get('/api/v1/me')).status).toBe(200);
    const bearer = await fetch(`${b.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${accessToken}` },
    });
    expect(bearer.status).toBe(200);
    const bearerOnA = () =>
      fetch(`${a.url}/api/v1/auth/session`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
    expect((await bearerOnA()).status).toBe(200);
    expect((await onB.postJson('/api/v1/auth/logout', {})).status).toBe(204);
    // The one delay allowed: PostgreSQL delivering the notification to A (SECURITY.md, Sessions).
    await waitUntil(async () => (await onA.get('/api/v1/me')).status === 401, 1000, 5);
    expect((await bearerOnA()).status).toBe(401);
  });

  it('refuses on B within a second a session ended on A while the listening backends are frozen', async () => {
    const account = await registered(a);
    const onA = new Browser(a.url);
    expect((await onA.postJson('/api/v1/auth/login', account)).status).toBe(200);
    const onB = sameBrowserOn(b, onA);
    // B has the session in memory now.
    for (let i = 0; i < 3; i += 1) expect((await onB.get('/api/v1/me')).status).toBe(200);

    // A LISTEN connection that stalls without breaking: its backend frozen (SIGSTOP), so
    // notifications are queued for it but never delivered, and the socket stays open.
    const admin = new pg.Client({ connectionString: a.database.url });
    await admin.connect();
    const { rows } = await admin.query<{ pid: number }>(
      "select pid from pg_stat_activity where application_name = 'identity-link session cache' and datname = current_database()",
    );
    await admin.end();
    expect(rows).toHaveLength(2);
    const frozen = rows.map((row) => row.pid);
    let refusedAfterMs: number | null = null;
    try {
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
      expect((await onA.postJson('/api/v1/auth/logout', {})).status).toBe(204);
      const endedAt = Date.now();
      while (Date.now() - endedAt < 5000) {
        const asked = Date.now();
        if ((await onB.get('/api/v1/me')).status === 401) {
          refusedAfterMs = asked - endedAt;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    expect(refusedAfterMs).not.toBeNull();
    expect(refusedAfterMs).toBeLessThan(1000);
    // Once the backends run again, B's cache is back and still refuses the ended session.
    await waitUntil(async () => (await onB.get('/api/v1/me')).status === 401, 5000);
    const again = new Browser(a.url);
    expect((await again.postJson('/api/v1/auth/login', account)).status).toBe(200);
    expect((await sameBrowserOn(b, again).get('/api/v1/me')).status).toBe(200);
  });

  it('a Госуслуги login started on A completes on B', async () => {
    const account = await registered(a);
    const owner = new Browser(a.url);
    await owner.postJson('/api/v1/auth/login', account);
    const callback = await owner.get(
      await throughStandIn(owner, '/auth/gosuslugi/link', 1000000002),
    );
    expect((await confirmLink(owner, (await confirmationState(owner, callback))!)).status).toBe(
      303,
    );

    const person = new Browser(a.url);
    const back = await throughStandIn(
      person,
      '/auth/gosuslugi/login?returnTo=/account',
      1000000002,
    );
    const onB = sameBrowserOn(b, person);
    const landed = await onB.get(back);
    expect(landed.status).toBe(303);
    expect(landed.headers.get('location')).toBe('/account');
    const me = (await (await sameBrowserOn(a, onB).get('/api/v1/me')).json()) as { login: string };
    expect(me.login).toBe(account.login);
    // The transaction is spent: replaying the callback on A fails.
    expect((await sameBrowserOn(a, person).get(back)).status).toBe(400);
  });

  it('counts lockout failures made on both instances together', async () => {
    const account = await registered(a);
    const wrong = { login: account.login, password: 'Wrong#Password1' };
    // LOCKOUT_FAILURE_FACTOR=4: the fourth failure locks, whichever instance saw the others.
    for (const instance of [a, b, a, b]) {
      expect((await new Browser(instance.url).postJson('/api/v1/auth/login', wrong)).status).toBe(
        401,
      );
    }
    const locked = await new Browser(b.url).postJson('/api/v1/auth/login', account);
    expect(locked.status).toBe(401);
    // The lock is on the (account, address) pair: both instances saw the same address.
    const pairs = await orm.em
      .fork()
      .getConnection()
      .execute<{ locked_until: Date | null }[]>(
        `select f.locked_until from login_failures f
           join password_credentials c on c.id = f.credential_id
           join users u on u.id = c.user_id where u.login = ?`,
        [account.login],
      );
    expect(pairs).toHaveLength(1);
    expect(pairs[0].locked_until).not.toBeNull();
  });

  it('throttles credential requests counted on both instances together', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_LIMIT + 2; i += 1) {
      const instance = i % 2 === 0 ? a : b;
      const response = await new Browser(instance.url).postJson('/api/v1/auth/login', {
        login: uniqueLogin('nobody'),
        password: 'Wrong#Password1',
      });
      statuses.push(response.status);
    }
    // The lockout test above spent some of this window's credential budget from the same address.
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2);
    expect(statuses.slice(-2)).toEqual([429, 429]);
  });

  it('lets an invitation accepted on A not be accepted again on B, and delivers each mail once with both workers', async () => {
    const org = (await (
      await operator.postJson('/api/v1/pos/organizations', {
        name: 'Школа № 77',
        kind: 'authority',
      })
    ).json()) as { id: string };
    const emails = Array.from(
      { length: 12 },
      (_, i) => `multi.${process.pid}.${i}@school77.example.ru`,
    );
    for (const email of emails) {
      const added = await operator.postJson(`/api/v1/pos/organizations/${org.id}/members`, {
        email,
        // The stand-in's test person who accepts below: only the invited person may.
        lastName: 'Соколова',
        firstName: 'Анна',
        roles: ['executor'],
      });
      expect(added.status).toBe(201);
    }
    for (const email of emails) await smtp.waitFor(email, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    for (const email of emails) {
      expect(smtp.received.filter((mail) => mail.to.includes(email))).toHaveLength(1);
    }

    const link = new URL(invitationLink(await smtp.waitFor(emails[0])));
    const first = new Browser(a.url);
    const accepted = await first.get(
      await throughStandIn(first, `${link.pathname}/accept`, 1000000005),
    );
    expect(accepted.status).toBe(303);
    const second = new Browser(b.url);
    const again = await second.get(link.pathname);
    expect(again.status).toBe(410);
    const members = await orm.em.fork().find(Membership, { email: emails[0] });
    expect(members.map((m) => m.status)).toEqual(['registered']);
  }, 90_000);
});
