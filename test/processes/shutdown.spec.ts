import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'node:http';
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

type Outcome = { status: number } | { error: string };

/** One POST on a connection of its own (no keep-alive), so a refusal and a drop are told apart. */
function login(url: string, body: object): Promise<Outcome> {
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
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ error: error.code ?? error.message }),
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
    service.child.kill('SIGTERM');
    await Promise.all(workers);
    expect(await exited).toBe(0);

    expect(before).toBeGreaterThan(0);
    const answered = outcomes.filter((o): o is { status: number } => 'status' in o);
    const failed = outcomes.filter((o): o is { error: string } => 'error' in o);
    // Every request the service accepted was answered, and answered well…
    expect([...new Set(answered.map((o) => o.status))]).toEqual([200]);
    // …and the only failures are connections it no longer accepted.
    expect([...new Set(failed.map((o) => o.error))]).toEqual(['ECONNREFUSED']);
    expect(answered.length).toBeGreaterThan(before);
    expect(sentAfterSignal.length).toBeGreaterThan(0);
  }, 120_000);
});
