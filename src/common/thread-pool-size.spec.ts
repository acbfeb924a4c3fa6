import { describe, expect, it } from '@jest/globals';
import { availableParallelism } from 'node:os';
import { threadPoolSize } from './thread-pool-size.js';

describe('threadPoolSize', () => {
  it('takes UV_THREADPOOL_SIZE when it is a positive whole number', () => {
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '6' })).toBe(6);
  });

  it('is one thread per core, at least two, when it is unset or not a positive whole number', () => {
    const perCore = Math.max(2, availableParallelism());
    expect(threadPoolSize({})).toBe(perCore);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '' })).toBe(perCore);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: '0' })).toBe(perCore);
    expect(threadPoolSize({ UV_THREADPOOL_SIZE: 'four' })).toBe(perCore);
  });
});
