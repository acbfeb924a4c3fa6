import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import request from 'supertest';
import { AuditEvent } from '../src/audit/audit-event.entity.js';
import { AUTH_CHANNEL } from '../src/sessions/auth-change-listener.js';
import { SessionCache } from '../src/sessions/session-cache.js';
import { Session } from '../src/sessions/session.entity.js';
import { startTestApp, type TestApp } from './support/app.js';
import { runCli } from './support/cli.js';
import { ALIVE, type Device, ENDED, login, register, sessionAnswers } from './support/http.js';
import { waitUntil } from './support/wait.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

/**
 * `npm run cli -- sessions:end-all --reason …` (ASVS 7.4.5): the platform operator ends every
 * session of everyone while the service keeps running. The command runs as a process of its own
 * (the built dist/cli.js) on this file's database; the app here is the running instance, with its
 * session cache on, that must refuse the ended sessions at once.
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

const cli = (args: string[]) => runCli(t.database.url, args);

const answers = (d: Device) => sessionAnswers(t, d);

const liveSessions = () =>
  t.em().count(Session, {
    revokedAt: null,
    idleExpiresAt: { $gt: new Date() },
    absoluteExpiresAt: { $gt: new Date() },
  });
const endAllEvents = () => t.em().find(AuditEvent, { type: 'session.all_ended' });

describe('sessions:end-all: the platform operator ends every session of everyone', () => {
  it('refuses a missing, empty or multi-line --reason and ends nothing', async () => {
    const account = await register(t);
    const device = await login(t, account);
    const missing = await cli(['sessions:end-all']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('не указан обязательный параметр --reason');
    const blank = await cli(['sessions:end-all', '--reason', '   ']);
    expect(blank.code).toBe(2);
    expect(blank.err).toContain('reason: invalid_length');
    const forgedLine = await cli(['sessions:end-all', '--reason', 'инцидент\nended 0 sessions']);
    expect(forgedLine.code).toBe(2);
    expect(forgedLine.err).toContain('reason: control_character');
    expect(await answers(device)).toEqual(ALIVE);
    expect(await endAllEvents()).toHaveLength(0);
  }, 120_000);

  it('ends every live session in one transaction: a running instance refuses the cached cookies and bearer tokens at once; ended and expired sessions stay as they were', async () => {
    const first = await register(t);
    const second = await register(t);
    const devices = [await login(t, first), await login(t, first), await login(t, second)];
    // Left alone: a session its owner logged out of, and one that expired.
    const loggedOut = await login(t, second);
    await request(t.http).post('/api/v1/auth/logout').set('Cookie', loggedOut.cookie).expect(204);
    const expired = await login(t, second);
    await sql.query(
      `update sessions set idle_expires_at = now() - interval '1 minute' where id = $1`,
      [expired.sessionId],
    );
    const before = await liveSessions();
    for (const d of devices) {
      expect(await answers(d)).toEqual(ALIVE);
      // The control: this instance now answers these sessions from memory, so a refusal below
      // comes from the notification the command's commit sends, not from a cache miss.
      expect(cache.get('id', d.sessionId)).toBeDefined();
    }

    const reason = 'Утечка ключа подписи: инцидент № 42';
    const run = await cli(['sessions:end-all', '--reason', reason]);
    expect(run).toMatchObject({ code: 0, err: '' });
    expect(run.out).toBe(`ended ${before} sessions: every user must log in again\n`);

    // PostgreSQL delivers the notification at commit, before the command even exits.
    await waitUntil(
      async () => (await Promise.all(devices.map(answers))).every((a) => a.cookie === 401),
      1000,
      5,
    );
    for (const d of devices) expect(await answers(d)).toEqual(ENDED);
    expect(await liveSessions()).toBe(0);

    const rows = await t.em().find(Session, {
      id: { $in: [...devices.map((d) => d.sessionId), loggedOut.sessionId, expired.sessionId] },
    });
    const reasonOf = (id: string) => rows.find((row) => row.id === id)!.revokedReason;
    for (const d of devices) expect(reasonOf(d.sessionId)).toBe('all_ended_by_operator');
    expect(reasonOf(loggedOut.sessionId)).not.toBe('all_ended_by_operator');
    expect(rows.find((row) => row.id === expired.sessionId)!.revokedAt).toBeNull();

    const events = await endAllEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actorUserId: null,
      targetUserId: null,
      details: { ended: before, reason, via: 'cli' },
    });

    // Accounts stay as they were: logging in again gives a working session.
    expect(await answers(await login(t, first))).toEqual(ALIVE);
  }, 120_000);

  it('ends a large table of sessions in one statement, and counts them', async () => {
    const account = await register(t);
    const device = await login(t, account);
    // 50,000 more live sessions of one user, straight into the table.
    await sql.query(
      `insert into sessions (id, token_hash, user_id, method, authenticated_with, created_at, last_seen_at, authenticated_at, idle_expires_at, absolute_expires_at)
       select gen_random_uuid(), md5(random()::text) || md5(random()::text), $1, 'pwd', 'pwd', now(), now(), now(),
              now() + interval '1 hour', now() + interval '1 day'
         from generate_series(1, 50000)`,
      [account.id],
    );
    const before = await liveSessions();
    expect(before).toBeGreaterThanOrEqual(50_001);
    // What every instance hears: first that everything changed, then the rows.
    const heard: string[] = [];
    sql.on('notification', (message) => heard.push(message.payload ?? ''));
    await sql.query(`listen ${AUTH_CHANNEL}`);
    const run = await cli(['sessions:end-all', '--reason', 'нагрузочная проверка']);
    expect(run).toMatchObject({ code: 0, err: '' });
    await waitUntil(() => heard.length > before, 20_000, 50);
    await sql.query(`unlisten ${AUTH_CHANNEL}`);
    expect(heard[0]).toBe('*');
    expect(run.out).toBe(`ended ${before} sessions: every user must log in again\n`);
    expect(await liveSessions()).toBe(0);
    await waitUntil(async () => (await answers(device)).cookie === 401, 5000, 20);
    expect(await answers(device)).toEqual(ENDED);
  }, 180_000);
});
