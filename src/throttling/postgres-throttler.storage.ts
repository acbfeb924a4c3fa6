import { MikroORM } from '@mikro-orm/postgresql';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type ThrottlerStorage } from '@nestjs/throttler';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** How often expired counters are swept away. */
const SWEEP_INTERVAL_MS = 5 * 60_000;

interface Row {
  hits: number;
  expires_in_ms: string;
  blocked_for_ms: string;
}

/**
 * Throttling counters in PostgreSQL, shared by every instance: one atomic upsert per check on an
 * UNLOGGED table (counters are worth nothing after a crash, so they skip the WAL). A fixed window
 * per key, as in @nestjs/throttler's in-memory storage; past the limit the key is blocked for
 * `blockDuration`.
 */
@Injectable()
export class PostgresThrottlerStorage implements ThrottlerStorage, OnModuleDestroy {
  private readonly sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS).unref();

  constructor(private readonly orm: MikroORM) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const rows = await this.orm.em.getConnection().execute<Row[]>(
      `insert into throttle_counters as c (key, hits, expires_at, blocked_until)
         values (?, 1, clock_timestamp() + make_interval(secs => ? / 1000.0), null)
       on conflict (key) do update set
         hits = case when c.expires_at <= clock_timestamp() then 1 else c.hits + 1 end,
         expires_at = case when c.expires_at <= clock_timestamp()
           then clock_timestamp() + make_interval(secs => ? / 1000.0) else c.expires_at end,
         blocked_until = case
           when c.blocked_until > clock_timestamp() then c.blocked_until
           when (case when c.expires_at <= clock_timestamp() then 1 else c.hits + 1 end) > ?
             then clock_timestamp() + make_interval(secs => ? / 1000.0)
           else null end
       returning hits,
         greatest(0, extract(epoch from expires_at - clock_timestamp()) * 1000)::bigint as expires_in_ms,
         greatest(0, coalesce(extract(epoch from blocked_until - clock_timestamp()) * 1000, 0))::bigint as blocked_for_ms`,
      [`${throttlerName}:${key}`, ttl, ttl, limit, blockDuration],
    );
    const row = rows[0];
    const blockedForMs = Number(row.blocked_for_ms);
    return {
      totalHits: row.hits,
      timeToExpire: Math.ceil(Number(row.expires_in_ms) / 1000),
      isBlocked: blockedForMs > 0,
      timeToBlockExpire: Math.ceil(blockedForMs / 1000),
    };
  }

  private async sweep(): Promise<void> {
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
