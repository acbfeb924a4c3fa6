import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { freePort } from '../../src/database/embedded-postgres.js';
import { Browser } from '../support/browser.js';
import { STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { type RedisServer, startRedisServer } from '../support/redis.js';
import { type RunningService, startService } from '../support/service.js';
import { waitUntil } from '../support/wait.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Redis (REDIS_URL) holds nothing but throttling counters, so losing it must cost no more than
 * their sharing: on a redis-server of this spec's own, killed and stalled under the running built
 * service, every request keeps its normal answer within the Redis command timeout, each instance
 * goes on counting by itself, and health and the log say so until Redis is back.
 */
const LOGIN_LIMIT = 4;
/** The command timeout is 500 ms; a request must never wait for more than that and a margin. */
const QUICK_MS = 2000;

let redisPort: number;
let redis: RedisServer | undefined;
let service: RunningService;
let account: { login: string; password: string };
let browser: Browser;

beforeAll(async () => {
  redisPort = await freePort();
  redis = await startRedisServer(redisPort);
  service = await startService({
    env: { REDIS_URL: redis.url, THROTTLE_AUTH_LIMIT: String(LOGIN_LIMIT) },
  });
  account = { login: uniqueLogin('redis'), password: STRONG_PASSWORD };
  browser = new Browser(service.url);
  expect((await browser.postJson('/api/v1/accounts', account)).status).toBe(201);
  expect((await browser.postJson('/api/v1/auth/login', account)).status).toBe(200);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  // A stopped redis-server would keep the service's shutdown waiting on its connection: end it first.
  await redis?.stop();
  await service?.stop();
});

interface Answer {
  what: string;
  status: number | 'no answer';
  ms: number;
}

/** One request, bounded: a request that hangs (the fault) is reported rather than hanging the spec. */
async function timed(what: string, send: (signal: AbortSignal) => Promise<Response>) {
  const started = performance.now();
  const status = await send(AbortSignal.timeout(10_000)).then(
    async (response) => {
      await response.arrayBuffer();
      return response.status;
    },
    () => 'no answer' as const,
  );
  return { what, status, ms: Math.round(performance.now() - started) } satisfies Answer;
}

/** A session's API call, a page, and a wrong password from another client on the same address. */
async function ordinaryRequests(): Promise<Answer[]> {
  return [
    await timed('GET /api/v1/me', (signal) => browser.request('/api/v1/me', { signal })),
    await timed('GET /account', (signal) =>
      browser.request('/account', { signal, headers: { accept: 'text/html' } }),
    ),
    await timed('wrong password', (signal) => wrongPassword(signal)),
  ];
}

function wrongPassword(signal?: AbortSignal): Promise<Response> {
  return new Browser(service.url).request('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: uniqueLogin('nobody'), password: 'Guess#Number1' }),
    signal,
  });
}

interface Readiness {
  httpStatus: number;
  status: string;
  redis?: { status: string; throttling?: string; message?: string };
  ms: number;
}

async function readiness(): Promise<Readiness> {
  const started = performance.now();
  const response = await fetch(`${service.url}/health/ready`, {
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as {
    status: string;
    details?: { redis?: Readiness['redis'] };
  };
  return {
    httpStatus: response.status,
    status: body.status,
    redis: body.details?.redis,
    ms: Math.round(performance.now() - started),
  };
}

/** The service's own log lines about the throttling store (messages in src/throttling). */
function storeLog(): string[] {
  return service
    .logs()
    .split('\n')
    .filter((line) => line.includes('"context":"RedisThrottlerStorage"'))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
}

/** The service's throttling keys in the spec's Redis (what only counting in Redis writes). */
async function throttleKeys(): Promise<string[]> {
  const client = new Redis(redis!.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    return await client.keys('identity-link:*:throttle:*');
  } finally {
    client.disconnect();
  }
}

describe('Redis under the throttling counters fails', () => {
  it('killed: requests keep their answers quickly, each instance counts alone and says so, and counting returns to Redis when it is back', async () => {
    // Counting is in Redis to begin with (the registration and login above).
    expect(await throttleKeys()).not.toEqual([]);

    redis!.child.kill('SIGKILL');
    await redis!.exited;

    const answers = await ordinaryRequests();
    // The wrong password above was the first of this address's login budget, counted here now.
    for (let i = 1; i < LOGIN_LIMIT; i++)
      answers.push(await timed('wrong password', (signal) => wrongPassword(signal)));
    answers.push(await timed('one wrong password too many', (signal) => wrongPassword(signal)));
    expect(answers.map(({ what, status }) => `${what} ${status}`)).toEqual([
      'GET /api/v1/me 200',
      'GET /account 200',
      ...Array<string>(LOGIN_LIMIT).fill('wrong password 401'),
      'one wrong password too many 429',
    ]);
    expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(QUICK_MS);

    // Still ready (the instance serves), but not «ok»: the report names Redis and local counting.
    const down = await readiness();
    expect(down).toMatchObject({
      httpStatus: 200,
      status: 'degraded',
      redis: { status: 'degraded', throttling: 'local' },
    });
    expect(down.ms).toBeLessThan(QUICK_MS);
    // One warning for the whole outage, not one per request.
    expect(storeLog().filter((msg) => msg.includes('counting per instance'))).toHaveLength(1);

    redis = await startRedisServer(redisPort);
    await waitUntil(async () => (await readiness()).redis?.status === 'up', 15_000, 250);
    expect(await readiness()).toMatchObject({
      httpStatus: 200,
      status: 'ok',
      redis: { status: 'up', throttling: 'redis' },
    });
    // The restarted Redis is empty: a request's count there shows counting is shared again.
    expect(await throttleKeys()).toEqual([]);
    expect((await browser.get('/api/v1/me')).status).toBe(200);
    expect(await throttleKeys()).not.toEqual([]);
    expect(storeLog().filter((msg) => msg.includes('counting in Redis again'))).toHaveLength(1);
  }, 60_000);

  it('stalled: requests answer within the command timeout instead of hanging, and recover once it runs again', async () => {
    // On its own too (the test above restarts Redis only if it gets that far): counting in Redis.
    if (redis!.child.exitCode !== null || redis!.child.signalCode !== null)
      redis = await startRedisServer(redisPort);
    await waitUntil(async () => {
      await browser.get('/api/v1/me');
      return (await throttleKeys()).length > 0;
    }, 15_000);
    const before = storeLog().length;
    redis!.child.kill('SIGSTOP');
    try {
      const answers = await ordinaryRequests();
      expect(answers.map(({ what, status }) => `${what} ${status}`)).toEqual([
        'GET /api/v1/me 200',
        'GET /account 200',
        'wrong password 401',
      ]);
      expect(Math.max(...answers.map((answer) => answer.ms))).toBeLessThan(QUICK_MS);
      const stalled = await readiness();
      expect(stalled).toMatchObject({
        httpStatus: 200,
        status: 'degraded',
        redis: { status: 'degraded', throttling: 'local' },
      });
      expect(stalled.ms).toBeLessThan(QUICK_MS);
    } finally {
      redis!.child.kill('SIGCONT');
    }

    await waitUntil(async () => (await readiness()).redis?.status === 'up', 15_000, 250);
    const keysBefore = (await throttleKeys()).length;
    expect((await wrongPassword()).status).toBe(401);
    expect((await throttleKeys()).length).toBeGreaterThan(keysBefore);
    expect(storeLog().slice(before)).toEqual([
      expect.stringContaining('counting per instance'),
      expect.stringContaining('counting in Redis again'),
    ]);
  }, 60_000);
});
