import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { decodeJwt } from 'jose';
import pg from 'pg';
import request from 'supertest';
import { FederatedIdentity } from '../src/identity/federated-identity.entity.js';
import { User } from '../src/identity/user.entity.js';
import { secretDigest } from '../src/common/secrets.js';
import { SessionCache } from '../src/sessions/session-cache.js';
import { SessionStore } from '../src/sessions/session-store.js';
import { Session } from '../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { login, register } from './support/http.js';
import { waitUntil } from './support/wait.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * The per-instance session cache (src/sessions/session-cache.ts) must never outlive what the
 * database says: every test here ends a session or a user behind the service's back and expects
 * the next requests to be refused.
 */
let t: TestApp;
let sql: pg.Client;
let cache: SessionCache;
beforeAll(async () => {
  t = await startTestApp({ THROTTLE_LIMIT: '100000', THROTTLE_AUTH_LIMIT: '100000' });
  sql = new pg.Client({ connectionString: t.database.url });
  await sql.connect();
  cache = t.app.get(SessionCache);
  await waitUntil(() => cache.active, 10_000, 20);
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await sql.end();
  await t.close();
});

const me = (auth: { cookie?: string; accessToken?: string }) => {
  const call = request(t.http).get('/api/v1/me');
  return auth.cookie
    ? call.set('Cookie', auth.cookie)
    : call.set('Authorization', `Bearer ${auth.accessToken}`);
};

/** A logged-in user whose session this instance has just cached. */
async function cachedSession() {
  const account = await register(t);
  const session = await login(t, account);
  expect((await me(session)).status).toBe(200);
  return { ...account, ...session };
}

const status = async (auth: { cookie?: string; accessToken?: string }) => (await me(auth)).status;

/**
 * Runs `body` with the table's notification trigger off, then turns it on again: no instance hears
 * of a change made meanwhile, so only this instance's own evictions (or none) can count.
 */
async function withoutNotices(
  table: 'sessions' | 'users' | 'federated_identities',
  body: () => Promise<void>,
): Promise<void> {
  await sql.query(`alter table ${table} disable trigger ${table}_auth_changed`);
  try {
    await body();
  } finally {
    await sql.query(`alter table ${table} enable trigger ${table}_auth_changed`);
  }
}

describe('the session cache', () => {
  it('answers from memory: with its trigger disabled, a revocation in the database goes unseen', async () => {
    // The control for every other test here: it shows the cache is really in use, and that the
    // triggers are what end cached sessions.
    const user = await cachedSession();
    await withoutNotices('sessions', async () => {
      await sql.query('update sessions set revoked_at = now() where user_id = $1', [user.id]);
      expect(await status(user)).toBe(200);
    });
    cache.invalidateUser(user.id);
    expect(await status(user)).toBe(401);
  });

  it('refuses a cookie once the session is revoked in the database by anyone', async () => {
    const user = await cachedSession();
    await sql.query('update sessions set revoked_at = now() where user_id = $1', [user.id]);
    await waitUntil(async () => (await status(user)) === 401, 1000, 5);
    expect(await status({ accessToken: user.accessToken })).toBe(401);
  });

  it('refuses a bearer token once its user is blocked in the database', async () => {
    const user = await cachedSession();
    expect(await status({ accessToken: user.accessToken })).toBe(200);
    await sql.query(`update users set status = 'blocked' where id = $1`, [user.id]);
    await waitUntil(async () => (await status({ accessToken: user.accessToken })) === 401, 1000, 5);
    expect(await status(user)).toBe(401);
  });

  it('refuses a session deleted from the database, and every session of a deleted user', async () => {
    const one = await cachedSession();
    await sql.query('delete from sessions where user_id = $1', [one.id]);
    await waitUntil(async () => (await status(one)) === 401, 1000, 5);

    const two = await cachedSession();
    await sql.query('delete from users where id = $1', [two.id]);
    await waitUntil(async () => (await status(two)) === 401, 1000, 5);
  });

  it('forgets everything when the sessions table is truncated', async () => {
    const user = await cachedSession();
    await sql.query('truncate sessions');
    await waitUntil(async () => (await status(user)) === 401, 1000, 5);
  });

  it('refuses the session at once after a logout on this instance', async () => {
    const user = await cachedSession();
    // With the trigger off, no notification comes: only this instance's own flush can evict.
    await withoutNotices('sessions', async () => {
      const logout = await request(t.http)
        .post('/api/v1/auth/logout')
        .set('Cookie', user.cookie)
        .set('Origin', t.url)
        .send({});
      expect(logout.status).toBe(204);
      // No waiting: the flush evicts before the logout's response leaves.
      expect(await status(user)).toBe(401);
      expect(await status({ accessToken: user.accessToken })).toBe(401);
    });
  });

  it('shows a Госуслуги identity linked or unlinked in the database by anyone, and only after its notice', async () => {
    const user = await cachedSession();
    const identities = async () =>
      ((await me(user)).body as { identities: { provider: string; displayName: string }[] })
        .identities;
    const link = () =>
      sql.query(
        `insert into federated_identities (id, user_id, provider, issuer, subject, claims, linked_at)
         values (gen_random_uuid(), $1, 'gosuslugi', 'https://esia.example', $2, $3, now())`,
        [user.id, `subject-${user.id}`, JSON.stringify({ lastName: 'Иванова', firstName: 'Анна' })],
      );
    // The control: with the trigger off, the link stays unseen, so the cache answered.
    await withoutNotices('federated_identities', async () => {
      await link();
      expect(await identities()).toEqual([]);
    });
    await sql.query('delete from federated_identities where user_id = $1', [user.id]);
    await link();
    await waitUntil(async () => (await identities()).length === 1, 1000, 5);
    expect(await identities()).toMatchObject([
      { provider: 'gosuslugi', displayName: 'Иванова Анна' },
    ]);
    await sql.query('delete from federated_identities where user_id = $1', [user.id]);
    await waitUntil(async () => (await identities()).length === 0, 1000, 5);
  });

  it('shows a profile changed in the database by anyone, and only after its notice', async () => {
    // «Личный кабинет» answers from the cached session's facts, not from a fresh read of users.
    const user = await cachedSession();
    const profile = async () => (await me(user)).body as Record<string, unknown>;
    const rename = (lastName: string) =>
      sql.query(
        `update users set last_name = $2, first_name = 'Анна', middle_name = 'Петровна',
           phone = '+79990001122', pending_email = 'anna@example.ru' where id = $1`,
        [user.id, lastName],
      );
    await withoutNotices('users', async () => {
      await rename('Сидорова');
      expect(await profile()).toMatchObject({ lastName: null, phone: null });
    });
    await rename('Кузнецова');
    await waitUntil(async () => (await profile()).lastName === 'Кузнецова', 1000, 5);
    expect(await profile()).toMatchObject({
      id: user.id,
      login: user.login,
      email: null,
      pendingEmail: 'anna@example.ru',
      phone: '+79990001122',
      lastName: 'Кузнецова',
      firstName: 'Анна',
      middleName: 'Петровна',
      status: 'active',
    });
  });

  it("shows this instance's own profile change at once, with no notice needed", async () => {
    const user = await cachedSession();
    // With the trigger off, only this instance's own flush can evict the cached session.
    await withoutNotices('users', async () => {
      const patched = await request(t.http)
        .patch('/api/v1/me')
        .set('Cookie', user.cookie)
        .set('Origin', t.url)
        .send({ phone: '+79990007788' });
      expect(patched.status).toBe(200);
      expect((await me(user)).body).toMatchObject({ phone: '+79990007788' });
      expect((await me({ accessToken: user.accessToken })).body).toMatchObject({
        phone: '+79990007788',
      });
    });
  });

  it('shows an identity this instance links at once, with no notice needed', async () => {
    const user = await cachedSession();
    // With the trigger off, only this instance's own flush can evict the cached session.
    await withoutNotices('federated_identities', async () => {
      const em = t.em();
      em.persist(
        FederatedIdentity.of(await em.findOneOrFail(User, user.id), {
          provider: 'gosuslugi',
          issuer: 'https://esia.example',
          subject: `flushed-${user.id}`,
          claims: { lastName: 'Петров' },
        }),
      );
      await em.flush();
      expect((await me(user)).body).toMatchObject({
        identities: [{ provider: 'gosuslugi', displayName: 'Петров' }],
      });
    });
  });

  it('does not keep a row read by another request while the ending transaction had not committed yet', async () => {
    const user = await cachedSession();
    // With the trigger off, only this instance's own eviction counts.
    await withoutNotices('sessions', async () => {
      await t.em().transactional(async (em) => {
        const session = await em.findOneOrFail(Session, { id: user.sessionId });
        session.revokedAt = new Date();
        session.revokedReason = 'test';
        await em.flush();
        // Flushed, not committed: another request still reads the live row, and caches it.
        expect(await status(user)).toBe(200);
      });
      expect(await status(user)).toBe(401);
      expect(await status({ accessToken: user.accessToken })).toBe(401);
    });
  });

  it('keeps entities managed: a profile change after a cached lookup is saved', async () => {
    const user = await cachedSession();
    const patched = await request(t.http)
      .patch('/api/v1/me')
      .set('Cookie', user.cookie)
      .set('Origin', t.url)
      .send({ phone: '+79990004455' });
    expect(patched.status).toBe(200);
    const stored = await sql.query<{ phone: string }>('select phone from users where id = $1', [
      user.id,
    ]);
    expect(stored.rows[0].phone).toBe('+79990004455');
    expect((await me(user)).body).toMatchObject({ phone: '+79990004455' });
  });

  it('does not cache a read that was in flight when an invalidation arrived', async () => {
    const user = await cachedSession();
    const id = '7d3a4c1e-2b6f-4a8e-9c0d-1e2f3a4b5c6d';
    const ticket = cache.ticket();
    cache.invalidateUser(user.id);
    cache.put(ticket, { stale: true } as never, { id, tokenHash: 'f'.repeat(64), userId: user.id });
    expect(cache.get('id', id)).toBeUndefined();
  });

  it('is not used while its database connection is down, and comes back by itself', async () => {
    const user = await cachedSession();
    await sql.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'identity-link session cache' and datname = current_database()`,
    );
    await waitUntil(() => !cache.active, 5000, 5);
    // Readiness says so, and still sends traffic: every lookup reads the database meanwhile.
    const ready = await request(t.http).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'degraded',
      details: { sessionCache: { status: 'degraded', listener: 'down' } },
    });
    // Nobody hears this revocation: the trigger is off and the listener is gone. Only a cache
    // that is bypassed while down refuses the session.
    await withoutNotices('sessions', async () => {
      await sql.query('update sessions set revoked_at = now() where user_id = $1', [user.id]);
      expect(await status(user)).toBe(401);
    });
    await waitUntil(() => cache.active, 10_000, 20);
    expect((await request(t.http).get('/health/ready')).body).toMatchObject({
      status: 'ok',
      details: { sessionCache: { status: 'up', listener: 'listening' } },
    });
    const next = await cachedSession();
    expect(await status(next)).toBe(200);
  });
});

describe('concurrent lookups of one uncached session', () => {
  /**
   * The service's connections waiting for the lock on `sessions`, each with a session lookup (told
   * by the start of its text: pg_stat_activity keeps only the first kilobyte of a statement).
   */
  const waitingLookups = async () =>
    (
      await sql.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
         where datname = current_database() and wait_event_type = 'Lock'
           and query like 'select s."id" as "s.id"%'`,
      )
    ).rows[0].n;

  /** Runs `body` while another connection holds `sessions` locked, so every lookup waits. */
  async function withSessionsLocked(body: () => Promise<void>): Promise<void> {
    const locker = new pg.Client({ connectionString: t.database.url });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table sessions in access exclusive mode');
      await body();
    } finally {
      await locker.query('rollback').catch(() => undefined);
      await locker.end();
    }
  }

  it('share one database read: twelve requests at once wait on one lookup, and all get the session', async () => {
    const account = await register(t);
    // Logged in, never looked up: the cache does not hold it yet.
    const session = await login(t, account);
    const tokenHash = secretDigest(session.cookie.split('=')[1]);
    // Counts the lookups the requests make (and lets each through to the real one).
    const lookups = jest.spyOn(t.app.get(SessionStore), 'load');
    let answers: Promise<number>[] = [];
    try {
      await withSessionsLocked(async () => {
        // The cache is in use (its listener fresh): a request may join another's read.
        expect(cache.ticket()).toBeGreaterThanOrEqual(0);
        answers = Array.from({ length: 12 }, () => status(session));
        const asked = () => lookups.mock.calls.filter(([, value]) => value === tokenHash).length;
        await waitUntil(() => asked() >= 12, 10_000, 20);
        await waitUntil(async () => (await waitingLookups()) >= 1, 5000, 20);
        // Every request has asked for the session by now, and one statement waits for them all.
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(await waitingLookups()).toBe(1);
      });
      expect(await Promise.all(answers)).toEqual(answers.map(() => 200));
    } finally {
      lookups.mockRestore();
    }
  });

  it('do not share a read begun before an invalidation with a request that came after it', async () => {
    const account = await register(t);
    const session = await login(t, account);
    let answers: Promise<number>[] = [];
    await withSessionsLocked(async () => {
      answers = [status(session)];
      await waitUntil(async () => (await waitingLookups()) === 1, 5000, 20);
      // The read in flight may hold a row from before this: the next request reads for itself.
      cache.invalidateUser(account.id);
      // Because of the invalidation, not because the cache is out of use (ticket -1).
      expect(cache.ticket()).toBeGreaterThanOrEqual(0);
      answers.push(status(session));
      await waitUntil(async () => (await waitingLookups()) === 2, 5000, 20);
    });
    expect(await Promise.all(answers)).toEqual([200, 200]);
  });
});

describe('access tokens this instance has verified before', () => {
  let short: TestApp;
  beforeAll(async () => {
    // Long enough that a busy machine still makes the first calls before expiry; the test waits
    // for the token's own `exp` rather than a fixed time.
    short = await startTestApp({ ACCESS_TOKEN_TTL: '4s', THROTTLE_LIMIT: '100000' });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await short.close();
  });

  it('are refused once they expire, although their signature was checked already', async () => {
    const { accessToken } = await login(short, await register(short));
    const call = () =>
      request(short.http).get('/api/v1/auth/session').set('Authorization', `Bearer ${accessToken}`);
    expect((await call()).status).toBe(200);
    expect((await call()).status).toBe(200);
    const { exp } = decodeJwt(accessToken);
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, exp! * 1000 + 1100 - Date.now())),
    );
    expect((await call()).status).toBe(401);
  });

  it('are refused once their session ends', async () => {
    const { accessToken, cookie } = await login(short, await register(short));
    const call = () =>
      request(short.http).get('/api/v1/auth/session').set('Authorization', `Bearer ${accessToken}`);
    expect((await call()).status).toBe(200);
    await request(short.http)
      .post('/api/v1/auth/logout')
      .set('Cookie', cookie)
      .set('Origin', short.url)
      .send({})
      .expect(204);
    expect((await call()).status).toBe(401);
  });
});
