import { availableParallelism } from 'node:os';

/**
 * The size of libuv's thread pool for the service: `UV_THREADPOOL_SIZE` when set, else one thread
 * per core (at least two). The pool runs argon2id, and libuv's default of four threads on a
 * two-core machine only adds contention: each verification holds 19 MiB that the allocator keeps
 * afterwards, and the event loop waits longer for a core (docs/performance.md, 2026-12-03 evening).
 */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const configured = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(configured) && configured > 0
    ? configured
    : Math.max(2, availableParallelism());
}
