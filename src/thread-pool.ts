import { threadPoolSize } from './common/thread-pool-size.js';

// libuv reads UV_THREADPOOL_SIZE once, when its pool first starts: main.ts imports this module
// first, and Node.js 24 reads ES modules without the pool, so nothing has started it yet (the
// running service shows the size as its number of `libuv-worker` threads in /proc/<pid>/task).
process.env.UV_THREADPOOL_SIZE = String(threadPoolSize());
