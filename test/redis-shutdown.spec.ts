import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type Redis } from 'ioredis';
import { freePort } from '../src/database/embedded-postgres.js';
import { THROTTLER_STORAGE } from '../src/throttling/credential-throttle.js';
import { type RedisServer, startRedisServer } from './support/redis.js';
import { startTestApp } from './support/app.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';
import { waitUntil } from './support/wait.js';

/**
 * The service's own Redis connection (REDIS_URL) at shutdown. The one storage is two providers
 * (THROTTLER_STORAGE, and @nestjs/throttler's ThrottlerStorage, whose factory returns the same
 * instance), so Nest calls its shutdown hook twice, one module after the other. The second call
 * found the connection closed: its QUIT was refused and the fallback `disconnect()` armed
 * ioredis's 2-second timer on a closed socket, which held a closed app's process open (Jest's
 * «did not exit one second after the test run» in every run with REDIS_URL).
 */
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer(await freePort());
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await redis?.stop();
});

describe('the Redis connection at shutdown', () => {
  it('is closed once with QUIT, never forced, although both its providers are shut down', async () => {
    const t = await startTestApp({ REDIS_URL: redis.url });
    const client = t.app.get<{ redis: Redis }>(THROTTLER_STORAGE).redis;
    expect(client.status).toBe('ready');
    const quit = jest.spyOn(client, 'quit');
    const forced = jest.spyOn(client, 'disconnect');
    await t.close();
    // QUIT resolves on Redis's +OK; the status turns to `end` when the socket has closed.
    await waitUntil(() => client.status === 'end', 2000, 10);
    expect(quit).toHaveBeenCalledTimes(1);
    expect(forced).not.toHaveBeenCalled();
  });
});
