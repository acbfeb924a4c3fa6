import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import argon2 from 'argon2';
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app.js';
import { register, uniqueLogin } from '../support/http.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Login timing as an enumeration oracle. An absent login must cost what a wrong password for an
 * existing one costs: one argon2id verification (PasswordLogin.login, PasswordHasher.verifyDummy).
 *
 * The bound (SECURITY.md, threat 9): over 100 interleaved pairs, after a warm-up, the median of
 * the per-pair differences stays under half the median cost of one argon2id verification with the
 * service's parameters, timed in the same process during the same run. Both sides of a pair and
 * the reference run under the same load, so a busy machine stretches all three alike; without the
 * dummy verification the difference is a whole verification and the test fails.
 */

const PAIRS = 100;
const WARM_UP = 10;
const ACCOUNTS = 10;
const WRONG = 'Wrong#Password1';

let t: TestApp;
beforeAll(async () => {
  // Ten accounts take ten wrong passwords each: below the default lockout factor (30), so the
  // policy stays as deployed.
  t = await startTestApp({ THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

async function timedLogin(login: string): Promise<number> {
  const started = performance.now();
  const response = await request(t.http)
    .post('/api/v1/auth/login')
    .send({ login, password: WRONG });
  const elapsed = performance.now() - started;
  if (response.status !== 401) throw new Error(`expected 401, got ${response.status}`);
  return elapsed;
}

describe('login timing', () => {
  it('spends as long on an absent login as on a wrong password for an existing one', async () => {
    const existing: string[] = [];
    for (let i = 0; i < ACCOUNTS; i++) existing.push((await register(t)).login);
    const { memoryCost, timeCost, parallelism } = t.config.argon2;
    const reference = await argon2.hash('reference-password', {
      type: argon2.argon2id,
      memoryCost,
      timeCost,
      parallelism,
    });
    const argon2Cost = async () => {
      const started = performance.now();
      await argon2.verify(reference, WRONG);
      return performance.now() - started;
    };

    for (let i = 0; i < WARM_UP; i++) {
      await timedLogin(existing[i % ACCOUNTS]);
      await timedLogin(uniqueLogin('absent'));
      await argon2Cost();
    }
    const differences: number[] = [];
    const costs: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const known = existing[i % ACCOUNTS];
      const absent = uniqueLogin('absent');
      // Alternate which side goes first, so a drift in load does not favour one.
      let present: number;
      let missing: number;
      if (i % 2 === 0) {
        present = await timedLogin(known);
        missing = await timedLogin(absent);
      } else {
        missing = await timedLogin(absent);
        present = await timedLogin(known);
      }
      differences.push(present - missing);
      costs.push(await argon2Cost());
    }
    // Jest prints both numbers (milliseconds) when this fails.
    expect(Math.abs(median(differences))).toBeLessThan(median(costs) / 2);
  }, 180_000);
});
