/* global process, console */
// argon2id verifications per second with the service's parameters, 16 in flight, in a process of
// its own so that its libuv thread pool has the service's size (UV_THREADPOOL_SIZE, set by the
// bench). Prints one number. Usage: node bench/raw-argon2.mjs <seconds>
import argon2 from 'argon2';
import { performance } from 'node:perf_hooks';

const seconds = Number(process.argv[2] ?? 10);
const hash = await argon2.hash('Bench#Password1', {
  type: argon2.argon2id,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1,
});
let done = 0;
const until = performance.now() + seconds * 1000;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (performance.now() < until) {
      await argon2.verify(hash, 'Bench#Password1');
      done += 1;
    }
  }),
);
console.log(done / seconds);
