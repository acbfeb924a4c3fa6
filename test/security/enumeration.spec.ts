import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { newSecret } from '../../src/common/secrets.js';
import { PasswordCredential } from '../../src/identity/password-credential.entity.js';
import { User, UserStatus } from '../../src/identity/user.entity.js';
import { Invitation } from '../../src/pos/invitation.entity.js';
import { Membership, MembershipStatus } from '../../src/pos/membership.entity.js';
import { Organization } from '../../src/pos/organization.entity.js';
import { roleName } from '../../src/pos/roles.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { linkThrough, loggedInBrowser } from '../support/gosuslugi.js';
import { cookiesOf, register, STRONG_PASSWORD, uniqueLogin } from '../support/http.js';
import { organization } from '../support/pos.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Can an outsider tell whether an account (or an invitation, or a link) exists? Every pair below
 * must get the same status, the same body and the same headers that matter; only what differs
 * on every request anyway (date, request id, the throttle's counters) is set aside.
 */

/** Headers that differ on every request whatever the account: not a signal. */
const VOLATILE = /^(date|x-request-id|x-ratelimit-|retry-after)/;

interface Observed {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * What an attacker sees of one response. `mask` replaces values the caller itself chose (its own
 * login, the address it typed) so that only what the service adds is compared; cookies are
 * compared by name and attributes, since their values are random anyway.
 */
function observed(
  status: number,
  rawHeaders: Record<string, string | string[] | undefined>,
  text: string,
  mask: string[] = [],
): Observed {
  const requestId = String(rawHeaders['x-request-id'] ?? '');
  let body = requestId ? text.split(requestId).join('<request-id>') : text;
  for (const value of mask) body = body.split(value).join('<mine>');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawHeaders)) {
    if (VOLATILE.test(name) || value === undefined) continue;
    // With masked bodies the length and the entity tag follow the caller's own input.
    if (mask.length > 0 && (name === 'content-length' || name === 'etag')) continue;
    headers[name] =
      name === 'set-cookie'
        ? ([] as string[])
            .concat(value)
            .map((cookie) => cookie.replace(/=[^;]*/, '=<value>'))
            .sort()
            .join('\n')
        : String(value);
  }
  return { status, headers, body };
}

const seen = (response: request.Response, mask?: string[]) =>
  observed(response.status, response.headers, response.text, mask);

async function seenFetch(response: Response): Promise<Observed> {
  const headers: Record<string, string | string[]> = Object.fromEntries(response.headers);
  if (response.headers.getSetCookie().length > 0)
    headers['set-cookie'] = response.headers.getSetCookie();
  return observed(response.status, headers, await response.text());
}

/** Every observation equals the first one; the labels say which pair differed. */
function expectAlike(cases: Record<string, Observed>): void {
  const [first, ...rest] = Object.entries(cases);
  for (const [label, value] of rest) expect({ [label]: value }).toEqual({ [label]: first[1] });
}

const NO_LIMITS = { THROTTLE_AUTH_LIMIT: '100000', THROTTLE_LIMIT: '100000' };

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp(NO_LIMITS, { listen: true });
}, STARTUP_TIMEOUT_MS);
afterAll(async () => {
  await t.close();
});

let mailbox = 0;
const address = (prefix: string) => `${prefix}.${process.pid}.${++mailbox}@school.example.ru`;

async function verifiedAccount(prefix: string) {
  const account = await register(t, uniqueLogin(prefix));
  const email = address(prefix);
  await t.em().nativeUpdate(User, { id: account.id }, { email });
  return { ...account, email };
}

describe('login', () => {
  const attempt = (login: string, password: string) =>
    request(t.http).post('/api/v1/auth/login').send({ login, password });

  it('answers a wrong password, an absent login and a locked account alike', async () => {
    const existing = await register(t);
    const locked = await register(t);
    await t
      .em()
      .nativeUpdate(
        PasswordCredential,
        { user: locked.id },
        { lockedUntil: new Date(Date.now() + 60_000) },
      );
    const cases = {
      'existing login, wrong password': seen(await attempt(existing.login, 'Wrong#Password1')),
      'absent login': seen(await attempt(uniqueLogin('nobody'), 'Wrong#Password1')),
      'locked account, right password': seen(await attempt(locked.login, locked.password)),
      'locked account, wrong password': seen(await attempt(locked.login, 'Wrong#Password1')),
    };
    expect(cases['absent login'].status).toBe(401);
    expect(cases['absent login'].headers['set-cookie']).toBeUndefined();
    expectAlike(cases);
  });
});

describe('password recovery', () => {
  const ask = (identifier: string) =>
    request(t.http).post('/api/v1/auth/recovery').send({ identifier });

  it('answers a request alike for existing and absent accounts, by login and by e-mail', async () => {
    const verified = await verifiedAccount('rec');
    const unverified = await register(t, uniqueLogin('rec'), STRONG_PASSWORD, {
      email: address('pending'),
    });
    const blocked = await verifiedAccount('rec');
    await t.em().nativeUpdate(User, { id: blocked.id }, { status: UserStatus.Blocked });
    const cases = {
      'existing login': seen(await ask(verified.login)),
      'absent login': seen(await ask(uniqueLogin('nobody'))),
      'existing verified e-mail': seen(await ask(verified.email)),
      'absent e-mail': seen(await ask(address('nobody'))),
      'login without a verified e-mail': seen(await ask(unverified.login)),
      'blocked account': seen(await ask(blocked.login)),
    };
    expect(cases['absent login'].status).toBe(202);
    expectAlike(cases);
  });
});

describe('registration', () => {
  const registration = (login: string, email: string) =>
    request(t.http).post('/api/v1/accounts').send({ login, password: STRONG_PASSWORD, email });

  it('answers a registration with another account’s e-mail exactly as one with a fresh e-mail', async () => {
    const owner = await verifiedAccount('owner');
    const pendingOwner = address('pending');
    await register(t, uniqueLogin('pending'), STRONG_PASSWORD, { email: pendingOwner });
    const cases: Record<string, Observed> = {};
    const created: string[] = [];
    for (const [label, email] of [
      ['fresh e-mail', address('fresh')],
      ['another account’s verified e-mail', owner.email],
      ['another account’s pending e-mail', pendingOwner],
    ] as const) {
      const login = uniqueLogin('reg');
      const response = await registration(login, email);
      created.push(response.body.id as string);
      // Its own id, login and address are what the registrant chose or was given.
      cases[label] = seen(response, [response.body.id as string, login, email]);
    }
    expect(cases['fresh e-mail'].status).toBe(201);
    expectAlike(cases);
    // Nothing moved: the owner keeps the address, the newcomer only has it pending.
    expect((await t.em().findOneOrFail(User, owner.id)).email).toBe(owner.email);
    expect(await t.em().findOneOrFail(User, created[1])).toMatchObject({
      email: null,
      pendingEmail: owner.email,
    });
  });
});

describe('invitation links', () => {
  let org: Organization;
  const INVITEE = { lastName: 'Секретова', firstName: 'Анна', middleName: 'Павловна' };

  beforeAll(async () => {
    org = await organization(t.em(), 'Гимназия № 8 «Тайное имя»', null);
  });

  /** An invitation in the wanted state, straight in the database; returns its token. */
  async function invitation(
    state: 'usable' | 'used' | 'expired' | 'resent' | 'archived',
  ): Promise<{ token: string; email: string }> {
    const em = t.em();
    const email = address('invitee');
    const membership = Object.assign(new Membership(), {
      organization: em.getReference(Organization, org.id),
      email,
      ...INVITEE,
      roles: ['admin', 'moderator'],
      status:
        state === 'used'
          ? MembershipStatus.Registered
          : state === 'archived'
            ? MembershipStatus.Archived
            : MembershipStatus.Invited,
    });
    const { secret: token, digest: hash } = newSecret();
    const now = Date.now();
    const invite = Object.assign(new Invitation(), {
      membership,
      tokenHash: hash,
      expiresAt: new Date(now + (state === 'expired' ? -60_000 : 3_600_000)),
      acceptedAt: state === 'used' ? new Date(now) : null,
      revokedAt: state === 'resent' ? new Date(now) : null,
      revokedReason: state === 'resent' ? 'resent' : null,
    });
    em.persist([membership, invite]);
    await em.flush();
    return { token, email };
  }

  const landing = (token: string) => request(t.http).get(`/pos/invitations/${token}`);
  // A navigation to the accept address only shows the landing page (accepting is its form).
  const accept = (token: string) =>
    request(t.http).get(`/pos/invitations/${token}/accept`).redirects(1);

  it('gives every made-up token the same page: random, malformed, one character off a real one', async () => {
    const real = await invitation('usable');
    const flipped = `${real.token.slice(0, -1)}${real.token.endsWith('A') ? 'B' : 'A'}`;
    const random = newSecret().secret;
    for (const open of [landing, accept]) {
      const cases = {
        random: seen(await open(random)),
        malformed: seen(await open('not-a-token')),
        'one character off a real one': seen(await open(flipped)),
      };
      expect(cases.random.status).toBe(404);
      expectAlike(cases);
    }
  });

  it('shows the holder of a used, expired or revoked link only its state: no organisation, person, role or address', async () => {
    const usable = await invitation('usable');
    const page = (await landing(usable.token)).text;
    // The live page does show who is invited where: that is what a dead one must not.
    const secrets = [
      org.name,
      INVITEE.lastName,
      INVITEE.firstName,
      roleName('admin'),
      roleName('moderator'),
    ];
    for (const secret of secrets) expect(page).toContain(secret);

    const unknown = seen(await landing(newSecret().secret));
    const states = {} as Record<'used' | 'expired' | 'resent' | 'archived', Observed>;
    for (const state of ['used', 'expired', 'resent', 'archived'] as const) {
      const dead = await invitation(state);
      const response = await landing(dead.token);
      states[state] = seen(response);
      expect(response.status).toBe(410);
      for (const secret of [...secrets, dead.email, String(org.lkoNumber)])
        expect(response.text).not.toContain(secret);
      // The same headers as a made-up token's page, apart from the size of the page.
      const { 'content-length': _a, etag: _b, ...headers } = states[state].headers;
      const { 'content-length': _c, etag: _d, ...unknownHeaders } = unknown.headers;
      expect(headers).toEqual(unknownHeaders);
    }
    // Re-sent or archived: one page, so the holder learns nothing about the membership.
    expectAlike({ resent: states.resent, archived: states.archived });
  });
});

describe('linking a Госуслуги profile', () => {
  it('shows the same «уже привязан» page whichever account holds the profile, and names nothing of it', async () => {
    // Profile 1 is linked to an active account with an e-mail, profile 2 to a blocked one.
    const holders = [await loggedInBrowser(t), await loggedInBrowser(t)];
    const holderEmail = address('holder');
    await t.em().nativeUpdate(User, { id: holders[0].id }, { email: holderEmail });
    expect((await linkThrough(holders[0].browser, 1000000001)).status).toBe(303);
    expect((await linkThrough(holders[1].browser, 1000000002)).status).toBe(303);
    await t.em().nativeUpdate(User, { id: holders[1].id }, { status: UserStatus.Blocked });

    const refused: Observed[] = [];
    for (const oid of [1000000001, 1000000002]) {
      const other = await loggedInBrowser(t);
      const response = await linkThrough(other.browser, oid);
      refused.push(await seenFetch(response));
    }
    expect(refused[0].status).toBe(409);
    expectAlike({ 'held by an active account': refused[0], 'held by a blocked one': refused[1] });
    for (const secret of [holders[0].login, holders[1].login, holderEmail])
      expect(refused[0].body).not.toContain(secret);
  });
});

describe('probing logins at registration (deviation D4)', () => {
  const LIMIT = 4;
  let limited: TestApp;
  beforeAll(async () => {
    limited = await startTestApp({ THROTTLE_AUTH_LIMIT: String(LIMIT) });
  }, STARTUP_TIMEOUT_MS);
  afterAll(async () => {
    await limited.close();
  });

  async function throughPage(login: string) {
    const form = await request(limited.http).get('/register');
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1];
    const cookie = [...cookiesOf(form)].map(([name, { value }]) => `${name}=${value}`).join('; ');
    return request(limited.http)
      .post('/register')
      .set('Cookie', cookie)
      .type('form')
      .send({
        csrf: csrf ?? '',
        login,
        password: STRONG_PASSWORD,
        passwordRepeat: STRONG_PASSWORD,
      });
  }
  const throughApi = (login: string) =>
    request(limited.http).post('/api/v1/accounts').send({ login, password: STRONG_PASSWORD });

  it('answers at most THROTTLE_AUTH_LIMIT probes per address, through the API and the page together', async () => {
    // The taken login exists before the window starts (made through the database, not the API).
    const em = limited.em();
    const taken = new User(uniqueLogin('taken'));
    em.persist(taken);
    await em.flush();

    const statuses: number[] = [];
    const throttled: Observed[] = [];
    for (let i = 0; i < 3 * LIMIT; i++) {
      const login = i % 3 === 0 ? taken.login : uniqueLogin('probe');
      const response = i % 2 === 0 ? await throughApi(login) : await throughPage(login);
      statuses.push(response.status);
      if (response.status === 429 && i % 2 === 0) throttled.push(seen(response));
    }
    expect(statuses.filter((status) => status !== 429)).toHaveLength(LIMIT);
    expect(statuses.slice(LIMIT)).toEqual(Array(2 * LIMIT).fill(429));
    // Once throttled, a taken and a free login get the same answer.
    expectAlike(Object.fromEntries(throttled.map((value, i) => [`probe ${i}`, value])));
  });
});
