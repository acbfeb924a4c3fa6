import { BoundedMap } from '../common/bounded-map.js';
import { type ThrottlerStorageRecord, throttlerRecord } from './throttler-record.js';

interface Counter {
  hits: number;
  expiresAt: number;
  blockedUntil: number;
}

/**
 * Throttling counts of this process alone, for while the shared store (Redis) fails: the same
 * fixed window and block as the Redis script, so a client meets the same limits either way.
 *
 * Not @nestjs/throttler's ThrottlerStorageService: its map grows with every address seen and
 * keeps an expiry time per hit (up to the limit, 300 by default, for each address), emptied by a
 * sweep once a minute. This one holds at most `capacity` counters, dropping the one used least
 * recently: a flood from that many addresses already gets past any per-address limit.
 */
export class LocalThrottlerCounters {
  private readonly counters: BoundedMap<string, Counter>;

  constructor(capacity: number) {
    this.counters = new BoundedMap(capacity);
  }

  increment(id: string, ttl: number, limit: number, blockDuration: number): ThrottlerStorageRecord {
    const now = Date.now();
    const previous = this.counters.get(id);
    const counter =
      previous && previous.expiresAt > now
        ? previous
        : // A block outlives the window it began in, as the `:blocked` key does in Redis.
          { hits: 0, expiresAt: now + ttl, blockedUntil: previous?.blockedUntil ?? 0 };
    counter.hits += 1;
    if (counter.blockedUntil <= now && counter.hits > limit)
      counter.blockedUntil = now + blockDuration;
    // Moved to the end, so that a full map forgets the counter used least recently.
    this.counters.delete(id);
    this.counters.set(id, counter);
    return throttlerRecord(counter.hits, counter.expiresAt - now, counter.blockedUntil - now);
  }

  /** `FailureCountingStorage.countFailure`, in this process. */
  countFailure(
    pairId: string,
    failuresId: string,
    blockedId: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): number {
    const unlimited = Number.MAX_SAFE_INTEGER;
    if (this.increment(pairId, ttl, unlimited, 0).totalHits > 1) return 0;
    const { totalHits } = this.increment(failuresId, ttl, unlimited, 0);
    if (totalHits >= limit) {
      const now = Date.now();
      const blocked = this.counters.get(blockedId) ?? { hits: 0, expiresAt: now, blockedUntil: 0 };
      blocked.blockedUntil = Math.max(blocked.blockedUntil, now + blockDuration);
      this.counters.delete(blockedId);
      this.counters.set(blockedId, blocked);
    }
    return totalHits;
  }

  get size(): number {
    return this.counters.size;
  }

  clear(): void {
    this.counters.clear();
  }
}
