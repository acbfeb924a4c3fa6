import { type ThrottlerStorage } from '@nestjs/throttler';

export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;
/** `increment`'s arguments: key, ttl, limit, blockDuration, throttlerName. */
export type IncrementArgs = Parameters<ThrottlerStorage['increment']>;

/** What @nestjs/throttler expects back, from a count and two remaining times in milliseconds. */
export function throttlerRecord(
  hits: number,
  expiresInMs: number,
  blockedForMs: number,
): ThrottlerStorageRecord {
  return {
    totalHits: hits,
    timeToExpire: Math.ceil(Math.max(0, expiresInMs) / 1000),
    isBlocked: blockedForMs > 0,
    timeToBlockExpire: Math.ceil(Math.max(0, blockedForMs) / 1000),
  };
}
