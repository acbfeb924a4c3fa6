import argon2 from 'argon2';
import { decodeJwt } from 'jose';
import request from 'supertest';
import { PasswordCredential } from '../../src/identity/password-credential.entity.js';
import { type TestApp } from './app.js';

export const STRONG_PASSWORD = 'Zvezda#2026x';

let counter = 0;
/** A login no other test in the file uses. */
export function uniqueLogin(prefix = 'user'): string {
  counter += 1;
  return `${prefix}.${process.pid}.${counter}`;
}

export async function register(
  t: TestApp,
  login = uniqueLogin(),
  password = STRONG_PASSWORD,
  extra: Record<string, unknown> = {},
) {
  const response = await request(t.http)
    .post('/api/v1/accounts')
    .send({ login, password, ...extra });
  if (response.status !== 201)
    throw new Error(`registration failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { login, password, id: response.body.id as string };
}

/** Parses Set-Cookie into name → { value, attributes } for assertions on flags. */
export function cookiesOf(
  response: request.Response,
): Map<string, { value: string; attributes: string[] }> {
  const header = response.headers['set-cookie'] as unknown as string[] | undefined;
  const result = new Map<string, { value: string; attributes: string[] }>();
  for (const line of header ?? []) {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const index = pair.indexOf('=');
    result.set(pair.slice(0, index), { value: pair.slice(index + 1), attributes });
  }
  return result;
}

/** A password login; `userAgent` makes it another device. Returns the cookie, token and `sid`. */
export async function login(
  t: TestApp,
  credentials: { login: string; password: string },
  userAgent?: string,
) {
  const call = request(t.http).post('/api/v1/auth/login');
  if (userAgent !== undefined) void call.set('User-Agent', userAgent);
  const response = await call.send({ login: credentials.login, password: credentials.password });
  if (response.status !== 200)
    throw new Error(`login failed: ${response.status} ${JSON.stringify(response.body)}`);
  const cookie = cookiesOf(response).get(t.config.session.cookieName);
  if (!cookie) throw new Error('login set no session cookie');
  return {
    response,
    cookie: `${t.config.session.cookieName}=${cookie.value}`,
    accessToken: response.body.accessToken as string,
    sessionId: decodeJwt(response.body.accessToken as string).sid as string,
  };
}

/** A logged-in device: its session cookie and access token. */
export interface Device {
  cookie: string;
  accessToken: string;
  sessionId: string;
}

/** What each of the three ways of using a session answers: the cookie, the bearer, a refresh. */
export async function sessionAnswers(
  t: TestApp,
  d: Device,
): Promise<{ cookie: number; bearer: number; refresh: number }> {
  return {
    cookie: (await request(t.http).get('/api/v1/me').set('Cookie', d.cookie)).status,
    bearer: (
      await request(t.http).get('/api/v1/me').set('Authorization', `Bearer ${d.accessToken}`)
    ).status,
    refresh: (await request(t.http).post('/api/v1/auth/token').set('Cookie', d.cookie)).status,
  };
}
export const ALIVE = { cookie: 200, bearer: 200, refresh: 200 };
export const ENDED = { cookie: 401, bearer: 401, refresh: 401 };

/** Replaces the stored hash with one made with parameters below the policy (m=8 MiB, t=1). */
export async function weakenStoredHash(
  t: TestApp,
  userId: string,
  password: string,
): Promise<string> {
  const weak = await argon2.hash(password, {
    type: argon2.argon2id,
    memoryCost: 8192,
    timeCost: 1,
    parallelism: 1,
  });
  await t.em().nativeUpdate(PasswordCredential, { user: userId }, { hash: weak });
  return weak;
}
