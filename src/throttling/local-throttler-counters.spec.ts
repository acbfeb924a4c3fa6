import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { LocalThrottlerCounters } from './local-throttler-counters.js';

describe('LocalThrottlerCounters', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('counts a fixed window and blocks past the limit for the block duration, as the Redis script does', () => {
    const counters = new LocalThrottlerCounters(10);
    const hit = () => counters.increment('k', 60_000, 2, 30_000);
    expect(hit()).toEqual({
      totalHits: 1,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(hit().isBlocked).toBe(false);
    expect(hit()).toEqual({
      totalHits: 3,
      timeToExpire: 60,
      isBlocked: true,
      timeToBlockExpire: 30,
    });

    jest.advanceTimersByTime(30_000);
    // The block is over, the window is not: the next hit is still past the limit.
    expect(hit()).toMatchObject({ totalHits: 4, timeToExpire: 30, isBlocked: true });

    jest.advanceTimersByTime(30_000);
    expect(hit()).toMatchObject({ totalHits: 1, timeToExpire: 60 });
  });

  it('keeps a block that outlives its window', () => {
    const counters = new LocalThrottlerCounters(10);
    counters.increment('k', 1000, 1, 5000);
    expect(counters.increment('k', 1000, 1, 5000).isBlocked).toBe(true);
    jest.advanceTimersByTime(2000);
    expect(counters.increment('k', 1000, 1, 5000)).toMatchObject({
      totalHits: 1,
      isBlocked: true,
      timeToBlockExpire: 3,
    });
  });

  it('holds at most its capacity, forgetting the counter used least recently', () => {
    const counters = new LocalThrottlerCounters(2);
    counters.increment('a', 60_000, 5, 0);
    counters.increment('b', 60_000, 5, 0);
    counters.increment('a', 60_000, 5, 0);
    counters.increment('c', 60_000, 5, 0);
    expect(counters.size).toBe(2);
    expect(counters.increment('a', 60_000, 5, 0).totalHits).toBe(3);
    expect(counters.increment('b', 60_000, 5, 0).totalHits).toBe(1);
  });

  it('counts a failure once per (address, login) pair and blocks the guarded counter at the limit', () => {
    const counters = new LocalThrottlerCounters(10);
    const fail = (pair: string) =>
      counters.countFailure(pair, 'failures', 'guarded', 60_000, 3, 60_000);
    expect(fail('pair-a')).toBe(1);
    // The same pair again within its window: not another distinct failure.
    expect(fail('pair-a')).toBe(0);
    expect(fail('pair-b')).toBe(2);
    expect(counters.increment('guarded', 600_000, 1000, 600_000).isBlocked).toBe(false);
    expect(fail('pair-c')).toBe(3);
    // The guard's next hit on the blocked counter is refused for the block's duration.
    expect(counters.increment('guarded', 600_000, 1000, 600_000)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 60,
    });
    jest.advanceTimersByTime(60_000);
    expect(counters.increment('guarded', 600_000, 1000, 600_000).isBlocked).toBe(false);
    // A new window: the pair counts again.
    expect(fail('pair-a')).toBe(1);
  });
});
