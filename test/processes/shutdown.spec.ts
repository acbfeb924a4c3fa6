import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
import pg from 'pg';
import { Browser } from '../support/browser.js';
import { STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { type RunningService, startService } from '../support/service.js';

let service: RunningService;

beforeAll(async () => {
  service = await startService();
}, 120_000);

afterAll(async () => {
  await service?.stop();
});

type Answered = { status: number; sentAt: number };
type Failed = { error: string; sentAt: number };
type Outcome = Answered | Failed;

/** One POST on a connection of its own (no keep-alive), so a refusal and a drop are told apart. */
function login(url: string, body: object): Promise<Outcome> {
  const sentAt = Date.now();
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const req = request(
      `${url}/api/v1/auth/login`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, sentAt }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ error: error.code ?? error.message, sentAt }),
    );
    req.end(payload);
  });
}

describe('graceful shutdown', () => {
  it('on SIGTERM stops taking connections, finishes every request it accepted, and exits cleanly', async () => {
    const account = { login: uniqueLogin('drain'), password: STRONG_PASSWORD };
    expect((await new Browser(service.url).postJson('/api/v1/accounts', account)).status).toBe(201);

    const outcomes: Outcome[] = [];
    const sentAfterSignal: Promise<Outcome>[] = [];
    let signalled = false;
    const exited = new Promise<number | null>((resolve) => service.child.once('exit', resolve));
    // A steady load: each request is a password check (argon2id), so many are in flight at once.
    const workers = Array.from({ length: 12 }, async () => {
      for (let i = 0; i < 40; i += 1) {
        const attempt = login(service.url, account);
        if (signalled) sentAfterSignal.push(attempt);
        const outcome = await attempt;
        outcomes.push(outcome);
        if ('error' in outcome && outcome.error === 'ECONNREFUSED') return;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const before = outcomes.length;
    signalled = true;
    const signalAt = Date.now();
    service.child.kill('SIGTERM');
    await Promise.all(workers);
    expect(await exited).toBe(0);

    expect(before).toBeGreaterThan(0);
    const answered = outcomes.filter((o): o is Answered => 'status' in o);
    const failed = outcomes.filter((o): o is Failed => 'error' in o);
    expect([...new Set(answered.map((o) => o.status))]).toEqual([200]);
    // Requests already on their way when SIGTERM came (sent 50 ms or more before it) were in the
    // service's hands: every one of them is answered.
    expect(failed.filter((o) => o.sentAt <= signalAt - 50)).toEqual([]);
    // The only failures are at the connection: refused once the listener closed, or reset by the
    // kernel while still queued in its backlog, before the service read the request.
    expect(failed.every((o) => o.error === 'ECONNREFUSED' || o.error === 'ECONNRESET')).toBe(true);
    // Every request the service did read was answered: each successful login is one session row,
    // and there are exactly as many as the answers that came back.
    const client = new pg.Client({ connectionString: service.database.url });
    await client.connect();
    const sessions = await client.query(
      'select count(*)::int as n from sessions s join users u on u.id = s.user_id where u.login = $1',
      [account.login],
    );
    await client.end();
    expect(sessions.rows[0].n).toBe(answered.length);
    expect(answered.length).toBeGreaterThan(before);
    expect(sentAfterSignal.length).toBeGreaterThan(0);
  }, 120_000);
});
