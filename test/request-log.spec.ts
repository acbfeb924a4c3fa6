import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestApp, type TestApp } from './support/app.js';
import { STRONG_PASSWORD, uniqueLogin } from './support/http.js';
import { STARTUP_TIMEOUT_MS } from './support/timeouts.js';

interface Line {
  component?: string;
  msg?: string;
  req?: { id: string; method: string; path: string };
}

const lines: Line[] = [];
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp(
    { LOG_LEVEL: 'trace' },
    {
      listen: true,
      logDestination: { write: (line: string) => void lines.push(JSON.parse(line) as Line) },
    },
  );
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await t?.close();
});

describe('the log of a request', () => {
  it('carries the request on the ORM statement lines written while serving it', async () => {
    const login = uniqueLogin('orm-log');
    const response = await fetch(`${t.url}/api/v1/accounts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login, password: STRONG_PASSWORD }),
    });
    expect(response.status).toBe(201);
    const id = response.headers.get('x-request-id');
    expect(id).toBeTruthy();
    const statements = lines.filter((line) => line.component === 'orm' && line.req?.id === id);
    expect(statements.map((line) => line.msg)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^insert into "users"/)]),
    );
    expect(statements[0].req).toEqual({ id, method: 'POST', path: '/api/v1/accounts' });
    // Bound values are never logged: the login is a parameter, in no field of any ORM line.
    const ormLines = lines.filter((line) => line.component === 'orm');
    expect(ormLines.filter((line) => JSON.stringify(line).includes(login))).toEqual([]);
  });
});
