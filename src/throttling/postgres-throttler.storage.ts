import { MikroORM } from '@mikro-orm/postgresql';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { BoundedMap } from '../common/bounded-map.js';
import { PreparedStatement } from '../common/prepared-statement.js';
import { type FailureCount, type FailureCountingStorage } from './credential-throttle.js';
import {
  type IncrementArgs,
  type ThrottlerStorageRecord,
  throttlerRecord as record,
} from './throttler-record.js';

/** How often expired counters are swept away. */
const SWEEP_INTERVAL_MS = 5 * 60_000;
/** A batched counter is written back at least this often while it is being hit. */
const SYNC_INTERVAL_MS = 1000;
/**
 * Batched counters kept at most: keys come from client addresses, which a flood from many IPv6
 * addresses could grow for the five minutes between sweeps. The oldest is forgotten first; its
 * unwritten hits (fewer than half its limit) are lost, as they would be in a crash.
 */
const MAX_LOCAL_COUNTERS = 100_000;

/** What this instance knows of a batched counter, and the hits it has not written back yet. */
interface LocalCounter {
  hits: number;
  pending: number;
  expiresAt: number;
  blockedUntil: number;
  syncedAt: number;
  /** Writes of this counter in flight: hits meanwhile are counted here, for the next one. */
  writing: number;
}

/** The shared counter as one write left it. */
interface SharedCounter {
  hits: number;
  expiresInMs: number;
  blockedForMs: number;
}

interface Row {
  hits: number;
  expires_in_ms: string;
  blocked_for_ms: string;
}

/** One more hit of a fixed-window counter, or the first of a new window once its own has ended. */
const ONE_MORE_HIT = `on conflict (key) do update set
           hits = case when c.expires_at <= clock_timestamp() then 1 else c.hits + 1 end,
           expires_at = case when c.expires_at <= clock_timestamp()
             then excluded.expires_at else c.expires_at end
         returning hits`;

/**
 * A pair's failure counted, with the address's and the block (`countFailure`); parameters: the
 * pair's key and window, the address's key and window, the blocked key, its block, the limit.
 */
const COUNT_FAILURE = new PreparedStatement(
  'throttle_count_failure',
  () => `with pair as (
     insert into throttle_counters as c (key, hits, expires_at, blocked_until)
       values (?, 1, clock_timestamp() + make_interval(secs => ? / 1000.0), null)
     ${ONE_MORE_HIT}
   ), failed as (
     insert into throttle_counters as c (key, hits, expires_at, blocked_until)
       select ?, 1, clock_timestamp() + make_interval(secs => ? / 1000.0), null
       from pair where hits = 1
     ${ONE_MORE_HIT}
   ), block as (
     insert into throttle_counters as c (key, hits, expires_at, blocked_until)
       select ?, 0, clock_timestamp(), clock_timestamp() + make_interval(secs => ? / 1000.0)
       from failed where hits >= ?::bigint
     on conflict (key) do update set
       blocked_until = greatest(c.blocked_until, excluded.blocked_until)
   )
   select (select hits from failed) as hits`,
);

/**
 * `hits` added to a shared counter (`add`); parameters: key, hits, window, limit, block. The
 * limits are cast: a bound parameter compared with the integer `hits` would be read as an integer,
 * and a limit set past 2^31 (to switch a throttler off) would fail every request.
 */
const ADD_HITS = new PreparedStatement(
  'throttle_add_hits',
  () => `insert into throttle_counters as c (key, hits, expires_at, blocked_until)
     values (?, ?, clock_timestamp() + make_interval(secs => ? / 1000.0), null)
   on conflict (key) do update set
     hits = case when c.expires_at <= clock_timestamp() then excluded.hits else c.hits + excluded.hits end,
     expires_at = case when c.expires_at <= clock_timestamp()
       then excluded.expires_at else c.expires_at end,
     blocked_until = case
       when c.blocked_until > clock_timestamp() then c.blocked_until
       when (case when c.expires_at <= clock_timestamp() then excluded.hits else c.hits + excluded.hits end) > ?::bigint
         then clock_timestamp() + make_interval(secs => ? / 1000.0)
       else null end
   returning hits,
     greatest(0, extract(epoch from expires_at - clock_timestamp()) * 1000)::bigint as expires_in_ms,
     greatest(0, coalesce(extract(epoch from blocked_until - clock_timestamp()) * 1000, 0))::bigint as blocked_for_ms`,
);

/**
 * Throttling counters in PostgreSQL, shared by every instance: an atomic upsert on an UNLOGGED
 * table (counters are worth nothing after a crash, so they skip the WAL). A fixed window per key,
 * as in @nestjs/throttler's in-memory storage; past the limit the key is blocked for
 * `blockDuration`.
 *
 * Throttlers named in `batched` (the general per-address limit) do not write on every request:
 * while a key is below half its limit, this instance counts hits itself and adds them to the
 * shared row at most a second later, with the next hit. Past a second or in a new window, that
 * hit writes the counter, and the hits that come while its write is in flight are counted here
 * for the next one (under load, many requests find a counter due at once: they made as many
 * writes). Near the limit every hit is written at once, and a block the database reported is
 * answered here until it ends. Across N instances the general limit can so be overshot by what
 * each counts in that second, never past half the limit each. Every other throttler (the
 * credentials limit) is exact: one upsert per check.
 */
@Injectable()
export class PostgresThrottlerStorage implements FailureCountingStorage, OnModuleDestroy {
  private readonly sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS).unref();
  private readonly local = new BoundedMap<string, LocalCounter>(MAX_LOCAL_COUNTERS);

  constructor(
    private readonly orm: MikroORM,
    private readonly batched: readonly string[] = [],
  ) {}

  async increment(
    ...[key, ttl, limit, blockDuration, throttlerName]: IncrementArgs
  ): Promise<ThrottlerStorageRecord> {
    const id = `${throttlerName}:${key}`;
    if (!this.batched.includes(throttlerName)) {
      const exact = await this.add(id, 1, ttl, limit, blockDuration);
      return record(exact.hits, exact.expiresInMs, exact.blockedForMs);
    }
    const now = Date.now();
    let counter = this.local.get(id);
    if (counter && now < counter.blockedUntil)
      return record(counter.hits, counter.expiresAt - now, counter.blockedUntil - now);
    // Counted here while below half the limit: within a second of the last write in the same
    // window, or at any time while a write is in flight. Under load many requests find the
    // counter due at once; one of them writes it, the others wait for nothing.
    if (
      counter &&
      (counter.hits + counter.pending + 1) * 2 <= limit &&
      (counter.writing > 0 ||
        (now < counter.expiresAt && now - counter.syncedAt < SYNC_INTERVAL_MS))
    ) {
      counter.pending += 1;
      const expiresInMs = counter.expiresAt > now ? counter.expiresAt - now : ttl;
      return record(counter.hits + counter.pending, expiresInMs, 0);
    }
    // Hits counted here in a window that has ended belong to no one any more.
    const pending = counter && now < counter.expiresAt ? counter.pending : 0;
    if (counter) {
      counter.pending = 0;
    } else {
      counter = { hits: 0, pending: 0, expiresAt: 0, blockedUntil: 0, syncedAt: 0, writing: 0 };
      this.local.set(id, counter);
    }
    counter.writing += 1;
    let shared: SharedCounter;
    try {
      shared = await this.add(id, pending + 1, ttl, limit, blockDuration);
    } catch (error) {
      // Not written: those hits go with the next write.
      counter.pending += pending;
      throw error;
    } finally {
      counter.writing -= 1;
    }
    const synced = Date.now();
    // What was counted here while the write was in flight stays pending, for the next one.
    Object.assign(counter, {
      hits: shared.hits,
      expiresAt: synced + shared.expiresInMs,
      blockedUntil: synced + shared.blockedForMs,
      syncedAt: synced,
    });
    return record(shared.hits, shared.expiresInMs, shared.blockedForMs);
  }

  /**
   * One statement: the pair's failure counted, the address's when it is the pair's first in its
   * window, and the blocked counter's `blocked_until` moved on when that reaches the limit. A
   * blocked counter with no row yet gets one whose window has already ended: the guard's next
   * hit starts its window and keeps the block. Blocks only unbatched counters (the credentials
   * throttler), of which this instance keeps nothing.
   */
  async countFailure(count: FailureCount): Promise<number> {
    const { pair, failures, blocked, ttl, limit, blockDuration } = count;
    const rows = await COUNT_FAILURE.rows<{ hits: number | null }>(this.orm.em, [
      `${pair.throttler}:${pair.key}`,
      ttl,
      `${failures.throttler}:${failures.key}`,
      ttl,
      `${blocked.throttler}:${blocked.key}`,
      blockDuration,
      limit,
    ]);
    return rows[0].hits ?? 0;
  }

  /** Adds `hits` to the shared counter in one statement and returns what it then holds. */
  private async add(
    id: string,
    hits: number,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<SharedCounter> {
    const rows = await ADD_HITS.rows<Row>(this.orm.em, [id, hits, ttl, limit, blockDuration]);
    const row = rows[0];
    return {
      hits: row.hits,
      expiresInMs: Number(row.expires_in_ms),
      blockedForMs: Number(row.blocked_for_ms),
    };
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const [id, counter] of this.local)
      if (counter.expiresAt <= now && counter.blockedUntil <= now) this.local.delete(id);
    await this.orm.em
      .getConnection()
      .execute(
        `delete from throttle_counters where expires_at < clock_timestamp() and (blocked_until is null or blocked_until < clock_timestamp())`,
      )
      .catch(() => undefined);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }
}
