import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RedisHealth, type RedisHealthReport } from '../common/redis-health.js';
import { type FailureCount, type FailureCountingStorage } from './credential-throttle.js';
import { LocalThrottlerCounters } from './local-throttler-counters.js';
import {
  type IncrementArgs,
  type ThrottlerStorageRecord,
  throttlerRecord,
} from './throttler-record.js';

/**
 * The same fixed window in Redis (REDIS_URL), for deployments that would rather not put a write
 * per request on PostgreSQL. One Lua script per check, so the count and the block are atomic.
 */
const SCRIPT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
local blocked = redis.call('PTTL', KEYS[2])
if blocked <= 0 and hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  blocked = tonumber(ARGV[3])
end
return { hits, ttl, blocked }
`;

/**
 * `FailureCountingStorage.countFailure`: KEYS[1] the pair's failures, KEYS[2] the address's,
 * KEYS[3] the blocked counter's block.
 */
const FAILURE_SCRIPT = `
local pair = redis.call('INCR', KEYS[1])
if pair == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if pair > 1 then return 0 end
local hits = redis.call('INCR', KEYS[2])
if hits == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
if hits >= tonumber(ARGV[2]) and redis.call('PTTL', KEYS[3]) < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
end
return hits
`;

/**
 * The longest a request waits for Redis. The script answers in well under a millisecond; a Redis
 * that takes longer is stalled (paused, swapping, a network partition that does not reset the
 * connection), and without a deadline every throttled request would wait on it for ever.
 */
const COMMAND_TIMEOUT_MS = 500;
/** A connection attempt, and at start how long to wait for Redis before counting locally. */
const CONNECT_TIMEOUT_MS = 1000;
/** While counting locally, how often a request may set off a PING to see whether Redis is back. */
const PROBE_INTERVAL_MS = 1000;
/** Counters kept while counting locally: a few hundred bytes each, tens of megabytes at most. */
const LOCAL_CAPACITY = 50_000;

/**
 * Counts in Redis while it answers, and in this process while it does not: Redis holds nothing
 * but these counters, so losing it must cost their sharing between instances, not the service.
 * A limit of N per address becomes N per address per instance until Redis is back.
 *
 * That holds for the credentials limit (login, registration) too, rather than refusing them with
 * 503 `throttle_unavailable`: the service keeps serving (a Redis outage would
 * otherwise lock every user out), and password guessing stays bounded by the per-account lockout,
 * which lives in PostgreSQL and does not depend on Redis. Any Redis error that escapes anyway is
 * answered 503 `throttle_unavailable` by the exception filter, never 500.
 *
 * ioredis reconnects by itself. While counting locally, a request at most once a second (and
 * /health/ready, and ioredis's `ready` event) sends a PING; once it is answered, counting returns
 * to Redis and the local counts are dropped: the shared ones count from then on. Each switch is
 * logged once, not per request.
 */
export class RedisThrottlerStorage
  extends RedisHealth
  implements FailureCountingStorage, OnApplicationShutdown
{
  private readonly logger = new Logger(RedisThrottlerStorage.name);
  private readonly redis: Redis;
  private readonly local = new LocalThrottlerCounters(LOCAL_CAPACITY);
  /** Where counts go now: Redis, or this process while Redis fails. */
  private shared = true;
  private probedAt = 0;
  private closing?: Promise<void>;

  /** `namespace` keeps deployments (and test databases) that share one Redis apart. */
  private constructor(
    RedisClient: typeof Redis,
    url: string,
    private readonly namespace: string,
  ) {
    super();
    this.redis = new RedisClient(url, {
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Without a connection a command fails at once, rather than waiting in a queue for one.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    });
    // Connection errors come again on every reconnection attempt: the switch to local counting
    // reports the outage once. (Without a listener ioredis prints each one to the console.)
    this.redis.on('error', () => undefined);
    this.redis.on('ready', () => {
      if (!this.shared) void this.check();
    });
  }

  /** Waits for Redis a moment at start; if it does not answer, the service starts counting locally. */
  static async connect(url: string, namespace: string): Promise<RedisThrottlerStorage> {
    // Loaded only with REDIS_URL: an instance counting in PostgreSQL never holds the client.
    const { Redis: RedisClient } = await import('ioredis');
    const storage = new RedisThrottlerStorage(RedisClient, url, namespace);
    const ready = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
      storage.redis.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!ready) storage.countLocally(`no connection within ${CONNECT_TIMEOUT_MS} ms`);
    return storage;
  }

  private keyOf(throttlerName: string, key: string): string {
    return `identity-link:${this.namespace}:throttle:${throttlerName}:${key}`;
  }

  async countFailure(count: FailureCount): Promise<number> {
    const { pair, failures, blocked, ttl, limit, blockDuration } = count;
    const pairKey = this.keyOf(pair.throttler, pair.key);
    const failuresKey = this.keyOf(failures.throttler, failures.key);
    const blockedKey = this.keyOf(blocked.throttler, blocked.key);
    if (this.shared) {
      try {
        return (await this.redis.eval(
          FAILURE_SCRIPT,
          3,
          pairKey,
          failuresKey,
          `${blockedKey}:blocked`,
          ttl,
          limit,
          blockDuration,
        )) as number;
      } catch (error) {
        this.countLocally(this.reasonOf(error));
      }
    } else {
      this.probe();
    }
    return this.local.countFailure(pairKey, failuresKey, blockedKey, ttl, limit, blockDuration);
  }

  async increment(
    ...[key, ttl, limit, blockDuration, throttlerName]: IncrementArgs
  ): Promise<ThrottlerStorageRecord> {
    const base = this.keyOf(throttlerName, key);
    if (this.shared) {
      try {
        const [hits, expiresInMs, blockedForMs] = (await this.redis.eval(
          SCRIPT,
          2,
          base,
          `${base}:blocked`,
          ttl,
          limit,
          blockDuration,
        )) as [number, number, number];
        return throttlerRecord(hits, expiresInMs, blockedForMs);
      } catch (error) {
        this.countLocally(this.reasonOf(error));
      }
    } else {
      this.probe();
    }
    return this.local.increment(base, ttl, limit, blockDuration);
  }

  /** A PING: switches counting back to Redis when answered, to this process when not. */
  async check(): Promise<RedisHealthReport> {
    const started = performance.now();
    try {
      await this.redis.ping();
      this.countInRedis();
      return {
        reachable: true,
        throttling: 'redis',
        responseTimeMs: Math.round(performance.now() - started),
      };
    } catch (error) {
      const reason = this.reasonOf(error);
      this.countLocally(reason);
      return { reachable: false, throttling: 'local', message: reason };
    }
  }

  /** Without a connection ioredis only says its stream is not writeable: say why instead. */
  private reasonOf(error: unknown): string {
    const { status } = this.redis;
    if (status !== 'ready') return `no connection (${status})`;
    return error instanceof Error ? error.message : String(error);
  }

  /**
   * At most one PING a second, and only on a connection ioredis holds as ready: a stalled Redis
   * keeps its connection, a dead one is being reconnected (the `ready` event covers that).
   */
  private probe(): void {
    const now = Date.now();
    if (now - this.probedAt < PROBE_INTERVAL_MS || this.redis.status !== 'ready') return;
    this.probedAt = now;
    void this.check();
  }

  private countLocally(reason: string): void {
    if (!this.shared) return;
    this.shared = false;
    this.probedAt = Date.now();
    this.logger.warn(
      { reason },
      'Redis unavailable: throttling counting per instance until it answers again',
    );
  }

  private countInRedis(): void {
    if (this.shared) return;
    this.shared = true;
    this.local.clear();
    this.logger.log('Redis answers: throttling counting in Redis again');
  }

  /**
   * After the drain, not before it (Nest destroys modules before the shutdown hooks that drain):
   * requests finishing after SIGTERM are still counted in Redis.
   */
  onApplicationShutdown(): Promise<void> {
    // Once: this one storage is two providers, THROTTLER_STORAGE here and @nestjs/throttler's own
    // ThrottlerStorage (whose factory returns the `storage` option), and Nest calls the hook on
    // each, one module after the other. QUIT needs a connection that answers; without one, the
    // socket is just closed.
    return (this.closing ??= this.redis.quit().then(
      () => undefined,
      () => this.redis.disconnect(),
    ));
  }
}
