import { describe, expect, it } from '@jest/globals';
import { isDatabaseUnavailable } from './database-errors.js';

/** pg's errors carry the SQLSTATE as `code`; MikroORM wraps them and keeps the original as `cause`. */
function pgError(code: string): Error {
  return Object.assign(new Error(`sqlstate ${code}`), { code });
}

describe('which database errors are answered 503 database_unavailable', () => {
  it.each([
    ['disk full', '53100'],
    ['out of memory', '53200'],
    ['too many connections', '53300'],
    ['read-only transaction (a replica or a failover)', '25006'],
    ['statement cancelled by statement_timeout', '57014'],
    ['admin shutdown', '57P01'],
    ['connection failure', '08006'],
  ])('%s (%s), also when wrapped', (_what, code) => {
    expect(isDatabaseUnavailable(pgError(code))).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: pgError(code) }))).toBe(true);
  });

  it("pg's own client-side deadline (query_timeout) on a stalled server", () => {
    expect(isDatabaseUnavailable(new Error('Query read timeout'))).toBe(true);
  });

  it.each([
    ['unique violation', '23505'],
    ['serialization failure', '40001'],
    ['syntax error', '42601'],
    ['a read-only-like code with more digits', '250060'],
  ])('not %s (%s): that is a bug or a conflict, not an outage', (_what, code) => {
    expect(isDatabaseUnavailable(pgError(code))).toBe(false);
  });
});
