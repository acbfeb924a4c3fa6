import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { safeReturnTo } from '../../src/gosuslugi/return-to.js';
import { User } from '../../src/identity/user.entity.js';
import { MEMBER_SORTS, MEMBER_STATUSES } from '../../src/pos/dto/member-list.dto.js';
import { Membership, MembershipStatus } from '../../src/pos/membership.entity.js';
import { MEMBER_STATES, STATUS_FILTERS } from '../../src/pos/report-table.js';
import { ROLE_CODES } from '../../src/pos/roles.js';
import { ADMIN_TABS } from '../../src/web/pos-admin/admin-view.js';
import { ACCOUNT_NOTICES, ADMIN_NOTICES, LOGIN_NOTICES } from '../../src/web/web.texts.js';
import { OPERATOR_NOTICES, OPERATOR_TABS } from '../../src/web/operator/operator.texts.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { login, register } from '../support/http.js';
import { activeLogCapture } from '../support/log-capture.js';
import { memberBrowser, operatorBrowser, organization } from '../support/pos.js';
import {
  type Answer,
  contractProblems,
  knownErrorCodes,
  knownFieldCodes,
} from './fuzz/contract.js';
import { DatabaseWatch } from './fuzz/db.js';
import { fieldsOf } from './fuzz/dto-fields.js';
import { type Caller, type FuzzRequest, requestFor } from './fuzz/requests.js';
import { type DtoClass, handlersOf, type HandlerInputs, routeKey } from './fuzz/routes.js';
import { STARTUP_TIMEOUT_MS } from '../support/timeouts.js';

/**
 * Property-based fuzzing of every route: hostile and random input (huge strings, NUL and control
 * characters, lone surrogates, look-alike letters, bidi overrides, `__proto__` keys, wrong types,
 * unknown fields, deep nesting, odd content types, foreign origins) never gets a 5xx, never writes
 * a row when refused, and is always answered under the error contract with a code from the
 * service's own set. Each route's seed derives from FUZZ_SEED and the route; a failure prints it,
 * and the same FUZZ_SEED and FUZZ_RUNS replay it:
 * `FUZZ_SEED=<seed> FUZZ_RUNS=<n> node --experimental-vm-modules node_modules/jest/bin/jest.js test/security/fuzz.spec.ts --selectProjects security -t '<route>'`.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261124);
const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const HANG_MS = 20_000;

type Who = 'anonymous' | 'user' | 'admin' | 'operator';

interface Target {
  /** Who sends the requests: a guarded route must be reached past its guard, to validation. */
  as: Who;
  /** A server-rendered page: form posts (with the form token and our Origin), HTML answers. */
  page?: true;
  /** A successful answer may write (that is the route's job); a refused one never. */
  writes?: true;
  /** Tables the route writes whatever the answer (starting a Госуслуги round trip). */
  alwaysWrites?: string[];
  /**
   * Where a page form sends the browser back when it refuses (a stale or foreign form token sends
   * it to the page the form came from): such a redirect is a refusal, not a success.
   */
  refusedRedirect?: RegExp;
  /** Query keys the handler reads from the request itself rather than through `@Query`. */
  rawQuery?: string[];
  /** Which fixture ids are good values for its `:id` (else random UUIDs only). */
  ids?: 'organization' | 'member';
}

/**
 * One entry per route. A route Nest maps without an entry here fails «fuzzes every route», so a
 * new route is fuzzed from the day it appears.
 */
const TARGETS: Record<string, Target> = {
  'DELETE /api/v1/me/identities/gosuslugi': { as: 'user' },
  'DELETE /api/v1/me/sessions': { as: 'user', writes: true },
  'DELETE /api/v1/me/sessions/:id': { as: 'user', writes: true },
  'DELETE /api/v1/pos/members/:id/sessions': { as: 'admin', writes: true, ids: 'member' },
  'GET /': { as: 'anonymous', page: true },
  'GET /.well-known/jwks.json': { as: 'anonymous' },
  'GET /account': { as: 'user', page: true },
  'GET /account/applications': { as: 'user', page: true },
  'GET /api/v1/auth/session': { as: 'user' },
  'GET /api/v1/me': { as: 'user' },
  'GET /api/v1/me/sessions': { as: 'user' },
  'GET /api/v1/password-policy': { as: 'anonymous' },
  'GET /api/v1/pos/admin/session': { as: 'admin' },
  'GET /api/v1/pos/backoffice/session': { as: 'admin' },
  'GET /api/v1/pos/me/confirmation': { as: 'user' },
  'GET /api/v1/pos/members/:id/sessions': { as: 'admin', ids: 'member' },
  'GET /api/v1/pos/organizations': { as: 'admin' },
  'GET /api/v1/pos/organizations/:id': { as: 'admin', ids: 'organization' },
  'GET /api/v1/pos/organizations/:id/children': { as: 'admin', ids: 'organization' },
  'GET /api/v1/pos/organizations/:id/connection-status': { as: 'admin', ids: 'organization' },
  'GET /api/v1/pos/organizations/:id/members': { as: 'admin', ids: 'organization' },
  'GET /auth/gosuslugi/callback': {
    as: 'anonymous',
    page: true,
    rawQuery: ['state', 'code', 'iss', 'error', 'error_description'],
  },
  'GET /auth/gosuslugi/continue': { as: 'anonymous', page: true },
  'GET /auth/gosuslugi/link': { as: 'user', page: true, alwaysWrites: ['login_transactions'] },
  'GET /auth/gosuslugi/link/confirm': { as: 'user', page: true },
  'GET /auth/gosuslugi/login': { as: 'anonymous', page: true },
  'POST /auth/gosuslugi/login': {
    as: 'anonymous',
    page: true,
    alwaysWrites: ['login_transactions'],
  },
  'GET /forgot-password': { as: 'anonymous', page: true },
  'GET /health/live': { as: 'anonymous' },
  'GET /health/ready': { as: 'anonymous' },
  'GET /login': { as: 'user', page: true },
  // The OpenID Provider's interaction: without its cookie every uid is «start again» (400).
  'GET /oidc/interaction/:uid': { as: 'user', page: true },
  // The consent form: without the interaction's cookie nothing is decided (400), nothing written.
  'POST /oidc/interaction/:uid': { as: 'user', page: true },
  'GET /pos': { as: 'user', page: true },
  // The members list reads its parameters from the request (the same checks as the API's DTO),
  // the status tab its filters.
  'GET /pos/admin': {
    as: 'admin',
    page: true,
    rawQuery: [
      'search',
      'status',
      'role',
      'sort',
      'cursor',
      'sent',
      'skipped',
      'filter',
      'authority',
      'state',
    ],
  },
  // A published status page: a random token is 404, nothing written.
  'GET /public/status/:token': { as: 'anonymous', page: true },
  'GET /pos/admin/members/:id/sessions': { as: 'admin', page: true, ids: 'member' },
  // The platform operator's pages, fuzzed as the operator: random ids reach no fixture account,
  // client or operator; the fixture organisation may be renamed, moved or invited into.
  'GET /pos/operator': { as: 'operator', page: true },
  'POST /pos/operator/clients': { as: 'operator', page: true, writes: true },
  'POST /pos/operator/clients/:id/disable': { as: 'operator', page: true, writes: true },
  'POST /pos/operator/clients/:id/rotate-secret': { as: 'operator', page: true, writes: true },
  'POST /pos/operator/operators': { as: 'operator', page: true, writes: true },
  'POST /pos/operator/operators/:id/remove': { as: 'operator', page: true, writes: true },
  'POST /pos/operator/organizations': { as: 'operator', page: true, writes: true },
  'POST /pos/operator/organizations/:id/invite': {
    as: 'operator',
    page: true,
    writes: true,
    ids: 'organization',
  },
  'POST /pos/operator/organizations/:id/move': {
    as: 'operator',
    page: true,
    writes: true,
    ids: 'organization',
  },
  'POST /pos/operator/organizations/:id/rename': {
    as: 'operator',
    page: true,
    writes: true,
    ids: 'organization',
  },
  'POST /pos/operator/users/:id/:action': { as: 'operator', page: true, writes: true },
  'GET /pos/invitations/:token': { as: 'anonymous', page: true },
  'GET /pos/invitations/:token/accept': { as: 'anonymous', page: true },
  'POST /pos/invitations/:token/accept': {
    as: 'anonymous',
    page: true,
    refusedRedirect: /^\/pos\/invitations\/[^/?]+$/,
  },
  'GET /register': { as: 'anonymous', page: true },
  'GET /reset-password/:token': { as: 'anonymous', page: true },
  'GET /verify-email/:token': { as: 'anonymous', page: true },
  'PATCH /api/v1/me': { as: 'user', writes: true },
  'PATCH /api/v1/pos/members/:id': { as: 'admin', writes: true, ids: 'member' },
  'PATCH /api/v1/pos/members/:id/roles': { as: 'admin', writes: true, ids: 'member' },
  'PATCH /api/v1/pos/organizations/:id': { as: 'admin', writes: true, ids: 'organization' },
  'POST /account': { as: 'user', page: true, writes: true },
  // «Отозвать доступ»: the fuzzing user has consented to no application, so every id is unknown.
  'POST /account/applications/:id/revoke': { as: 'user', page: true },
  'POST /account/email/resend': { as: 'user', page: true, writes: true },
  'POST /account/gosuslugi/unlink': { as: 'user', page: true },
  // The fuzzer never knows its own session's id: only unknown or foreign ids reach the service.
  'POST /account/sessions/:id/end': { as: 'user', page: true, writes: true },
  'POST /account/sessions/end-others': { as: 'user', page: true, writes: true },
  'POST /api/v1/accounts': { as: 'anonymous', writes: true },
  'POST /api/v1/accounts/email-verification': { as: 'anonymous' },
  'POST /api/v1/auth/login': { as: 'anonymous' },
  'POST /api/v1/auth/logout': { as: 'anonymous' },
  'POST /api/v1/auth/reauthenticate': { as: 'user' },
  // Always 202 and a queued job: the answer is the same for every identifier.
  'POST /api/v1/auth/recovery': { as: 'anonymous', writes: true },
  'POST /api/v1/auth/recovery/password': { as: 'anonymous' },
  'POST /api/v1/auth/token': { as: 'user' },
  'POST /api/v1/me/email/verification': { as: 'user', writes: true },
  'POST /api/v1/me/identities/gosuslugi/refresh': { as: 'user' },
  // Never given the current password: nothing may change.
  'POST /api/v1/me/password': { as: 'user' },
  'POST /api/v1/pos/me/confirmation': { as: 'user' },
  'POST /api/v1/pos/members/:id/archive': { as: 'admin', writes: true, ids: 'member' },
  'POST /api/v1/pos/members/:id/resend-invitation': { as: 'admin', writes: true, ids: 'member' },
  'POST /api/v1/pos/members/:id/restore': { as: 'admin', writes: true, ids: 'member' },
  'POST /api/v1/pos/organizations': { as: 'operator', writes: true },
  'POST /api/v1/pos/organizations/:id/members': {
    as: 'admin',
    writes: true,
    ids: 'organization',
  },
  'POST /api/v1/pos/organizations/:id/members/resend-invitations': {
    as: 'admin',
    writes: true,
    ids: 'organization',
  },
  'POST /api/v1/pos/organizations/:id/widget': { as: 'admin', writes: true, ids: 'organization' },
  // Queues a placement check (a pg-boss job) once a minute per organisation; refusals write nothing.
  'POST /api/v1/pos/organizations/:id/widget/check': {
    as: 'admin',
    writes: true,
    ids: 'organization',
  },
  // The file is the body (text/csv or XLSX): a JSON body is refused (422 import_no_file).
  'POST /api/v1/pos/organizations/:id/members/import': {
    as: 'admin',
    writes: true,
    ids: 'organization',
  },
  // No link is waiting for confirmation: nothing to confirm.
  'POST /auth/gosuslugi/link/confirm': { as: 'user', page: true },
  'POST /forgot-password': { as: 'anonymous', page: true, writes: true },
  'POST /login': { as: 'anonymous', page: true },
  // Anonymous: a signed-in caller's good form would end the session the fuzzer runs on.
  'POST /logout': { as: 'anonymous', page: true },
  'POST /pos/admin/members': { as: 'admin', page: true, writes: true },
  'POST /pos/admin/members/:id/:action': { as: 'admin', page: true, writes: true, ids: 'member' },
  'POST /pos/admin/members/:id/edit/invitee': {
    as: 'admin',
    page: true,
    writes: true,
    ids: 'member',
  },
  'POST /pos/admin/members/:id/edit/roles': {
    as: 'admin',
    page: true,
    writes: true,
    ids: 'member',
  },
  'POST /pos/admin/members/resend-all': { as: 'admin', page: true, writes: true },
  // Only the invited (unbound) member's id and random ones: never the fuzzing admin's own sessions.
  'POST /pos/admin/members/:id/sessions/end': {
    as: 'admin',
    page: true,
    writes: true,
    ids: 'member',
  },
  'POST /pos/admin/organization': { as: 'admin', page: true, writes: true },
  'POST /pos/admin/widget': { as: 'admin', page: true, writes: true },
  // Publishing, replacing or revoking the fixture authority's public status page.
  'POST /pos/admin/public-status/:action': { as: 'admin', page: true, writes: true },
  'POST /pos/admin/widget/check': { as: 'admin', page: true, writes: true },
  'GET /pos/admin/import': { as: 'admin', page: true },
  'GET /pos/admin/import/template.csv': { as: 'admin', page: true },
  'POST /pos/admin/import': { as: 'admin', page: true, writes: true },
  'POST /pos/confirmation': { as: 'user', page: true },
  'POST /register': { as: 'anonymous', page: true, writes: true },
  'POST /reset-password': { as: 'anonymous', page: true },
  'POST /verify-email': { as: 'anonymous', page: true },
  // The second factor (issue 19). Starting enrolment keeps a pending (unconfirmed) secret, also
  // when the page shows it; a wrong code counts on the factor (volatile columns) and is audited.
  'GET /account/mfa': { as: 'user', page: true, writes: true },
  'GET /api/v1/me/mfa': { as: 'user' },
  'POST /api/v1/me/mfa/totp': { as: 'user', writes: true },
  'POST /api/v1/me/mfa/totp/confirm': { as: 'user', writes: true },
  'DELETE /api/v1/me/mfa/totp': { as: 'user', writes: true },
  // A refused form shows /account/mfa again, which offers a passkey: a challenge row is made.
  'POST /account/mfa/enrol': {
    as: 'user',
    page: true,
    writes: true,
    alwaysWrites: ['passkey_challenges'],
  },
  'POST /account/mfa/remove': {
    as: 'user',
    page: true,
    writes: true,
    alwaysWrites: ['passkey_challenges'],
  },
  // No pending step exists for the fuzzer: every answer is a refusal (or back to /login).
  'POST /api/v1/auth/login/mfa': { as: 'anonymous' },
  'POST /api/v1/auth/login/mfa/enrolment': { as: 'anonymous' },
  'GET /login/mfa': { as: 'anonymous', page: true },
  'POST /login/mfa': { as: 'anonymous', page: true },
  // Passkeys: options make a (single-use) challenge row; a refused assertion is audited.
  'POST /api/v1/auth/login/mfa/passkey-options': { as: 'anonymous' },
  'POST /login/mfa/passkey': { as: 'anonymous', page: true },
  'GET /api/v1/me/mfa/passkeys': { as: 'user' },
  'POST /api/v1/me/mfa/passkeys/options': { as: 'user', writes: true },
  'POST /api/v1/me/mfa/passkeys': { as: 'user', writes: true },
  'DELETE /api/v1/me/mfa/passkeys/:id': { as: 'user', writes: true },
  'POST /api/v1/me/mfa/passkeys/reauthentication-options': { as: 'user' },
  'POST /account/mfa/passkeys': {
    as: 'user',
    page: true,
    writes: true,
    alwaysWrites: ['passkey_challenges'],
  },
  'POST /account/mfa/passkeys/remove': {
    as: 'user',
    page: true,
    writes: true,
    alwaysWrites: ['passkey_challenges'],
  },
};

let t: TestApp;
let watch: DatabaseWatch;
let handlers: HandlerInputs[];
const callers = {} as Record<Who, Caller>;
const fixture = {
  organizations: [] as string[],
  victimMember: '',
  adminMember: '',
  operatorId: '',
};
const errorCodes = knownErrorCodes();
const fieldCodes = knownFieldCodes();

/** A double-submit form token: the same value in the cookie and in the form. */
const CSRF = 'fuzzFormToken'.padEnd(43, '0');

beforeAll(async () => {
  // High limits so the fuzzer reaches validation rather than the throttler (429 stays allowed);
  // downstream audiences so POST /api/v1/auth/token also issues tokens for them.
  t = await startTestApp(
    {
      THROTTLE_LIMIT: '1000000',
      // The fuzzer's two callers send thousands of requests a minute each.
      THROTTLE_SIGNED_IN_LIMIT: '1000000',
      THROTTLE_AUTH_LIMIT: '1000000',
      ACCESS_TOKEN_AUDIENCES: 'epos-diary,pos-backoffice',
    },
    { listen: true },
  );
  handlers = handlersOf(t);
  const csrfCookie = `il_csrf=${CSRF}`;
  callers.anonymous = { cookie: csrfCookie, csrf: CSRF, signedIn: false };

  const person = await login(t, await register(t));
  callers.user = { cookie: `${person.cookie}; ${csrfCookie}`, csrf: CSRF, signedIn: true };

  const em = t.em();
  const root = await organization(em, 'Управление образования (fuzz)', null);
  const school = await organization(em, 'Школа № 5 (fuzz)', root);
  fixture.organizations = [root.id, school.id];
  const admin = await memberBrowser(t, root, ['admin']);
  fixture.adminMember = admin.membership.id;
  callers.admin = {
    cookie: `${admin.browser.cookieHeader()}; ${csrfCookie}`,
    csrf: CSRF,
    signedIn: true,
  };
  const operator = await operatorBrowser(t);
  fixture.operatorId = operator.id;
  callers.operator = {
    cookie: `${operator.browser.cookieHeader()}; ${csrfCookie}`,
    csrf: CSRF,
    signedIn: true,
  };
  const invited = await request(t.http)
    .post(`/api/v1/pos/organizations/${school.id}/members`)
    .set('cookie', callers.admin.cookie!)
    .send({
      email: 'fuzz.victim@example.ru',
      lastName: 'Петрова',
      firstName: 'Ольга',
      roles: ['executor'],
    });
  if (invited.status !== 201) throw new Error(`fixture member: ${invited.status} ${invited.text}`);
  fixture.victimMember = invited.body.id as string;

  watch = await DatabaseWatch.open(t.database.url);
}, STARTUP_TIMEOUT_MS);

afterAll(async () => {
  await watch?.close();
  await t?.close();
});

/** Good values by field, query or path parameter name, so requests also get past the first check. */
function knownValues(target: Target): Record<string, string[]> {
  const ids =
    target.ids === 'organization'
      ? fixture.organizations
      : target.ids === 'member'
        ? [fixture.victimMember]
        : [];
  return {
    csrf: [CSRF],
    id: ids,
    organizationId: fixture.organizations,
    membershipId: [fixture.victimMember],
    parentId: [...fixture.organizations, 'top'],
    org: fixture.organizations,
    returnTo: ['/account', '/pos', '/pos/admin?tab=members', '//evil.example', '/\\evil.example'],
    notice: [
      ...Object.keys(ACCOUNT_NOTICES),
      ...Object.keys(LOGIN_NOTICES),
      ...Object.keys(ADMIN_NOTICES),
      ...Object.keys(OPERATOR_NOTICES),
    ],
    tab: [...ADMIN_TABS, ...OPERATOR_TABS],
    // The operator's user search and its keyset.
    q: ['', 'operator', 'Тестова Мария', '%', '_'],
    after: ['', 'a', 'operator', 'zzzz'],
    format: ['csv', 'xlsx', 'json'],
    // The status report's filters (API and the status tab) and its drill-down.
    filter: ['', ...STATUS_FILTERS],
    authority: ['', ...fixture.organizations],
    state: ['', ...MEMBER_STATES],
    archived: ['true', 'false'],
    // The members list: its filters, sort orders and pages (a cursor is opaque: hostile ones only).
    search: ['', 'Тестова', 'ёлкин', '%', 'example.ru'],
    status: [...MEMBER_STATUSES],
    role: [...ROLE_CODES],
    sort: [...MEMBER_SORTS],
    cursor: [''],
    limit: ['1', '50', '100'],
    sent: ['2'],
    skipped: ['0'],
    dryRun: ['true', 'false'],
    audience: [t.config.accessToken.audience, ...t.config.accessToken.downstreamAudiences],
    reauth: ['1'],
    gosuslugi: ['linked'],
    // «Новое приложение»: addresses one a line (good, refused and hostile), its type and login.
    redirectUris: [
      'http://127.0.0.1:9/callback',
      'https://diary.example/callback\r\nhttps://diary.example/second',
      'http://diary.example/callback',
      'javascript:alert(1)',
      '',
    ],
    postLogoutRedirectUris: ['', 'https://diary.example/bye', 'https://diary.example/#x'],
    backchannelLogoutUri: ['', 'https://diary.example/backchannel', 'https://u:p@diary.example/'],
    type: ['confidential', 'public', 'other'],
    firstParty: ['yes'],
    requiredAcr: ['gosuslugi', 'none'],
    action: [
      'resend',
      'archive',
      'restore',
      'block',
      'unblock',
      'end-sessions',
      'mfa-reset',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'publish',
      'regenerate',
      'revoke',
    ],
  };
}

async function send(fuzz: FuzzRequest): Promise<Answer & { location: string | null }> {
  const response = await fetch(new URL(fuzz.url, t.url), {
    method: fuzz.method,
    headers: fuzz.headers,
    body: fuzz.body,
    redirect: 'manual',
    signal: AbortSignal.timeout(HANG_MS),
  }).catch((error: unknown) => {
    throw new Error(`no answer within ${HANG_MS} ms or connection dropped: ${String(error)}`);
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    location: response.headers.get('location'),
    text: await response.text(),
  };
}

const preview = (value: string, size = 300): string =>
  JSON.stringify(value.length > size ? `${value.slice(0, size)}…(${value.length} chars)` : value);

/** What the service logged for a 5xx answer (found by its request id), to tell why. */
function loggedCause(answer: Answer | null): string {
  if (!answer || answer.status < 500) return '';
  let requestId: unknown;
  try {
    requestId = (JSON.parse(answer.text) as { requestId?: unknown }).requestId;
  } catch {
    return '';
  }
  if (typeof requestId !== 'string') return '';
  const line = activeLogCapture()?.lines.find(
    (logged) => logged.includes(requestId) && logged.includes('"err"'),
  );
  if (!line) return '';
  const { err } = JSON.parse(line) as { err?: { stack?: string } };
  return err?.stack ? `logged cause: ${err.stack.split('\n').slice(0, 6).join('\n    ')}` : '';
}

function report(fuzz: FuzzRequest, answer: Answer | null, problems: string[]): string {
  return [
    `FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}: ${fuzz.method} ${preview(fuzz.url, 200)} [${fuzz.shape}]`,
    `headers: ${preview(JSON.stringify(fuzz.headers), 400)}`,
    fuzz.body === undefined ? 'no body' : `body: ${preview(fuzz.body)}`,
    `must be refused: ${fuzz.refused ?? 'no'}`,
    answer ? `answer: ${answer.status} ${answer.contentType} ${preview(answer.text)}` : '',
    ...problems.map((p) => `  ✗ ${p}`),
    loggedCause(answer),
  ].join('\n');
}

/** Login transactions keep only a local path to return to (or none). */
async function storedReturnPaths(): Promise<string[]> {
  const rows = await t
    .em()
    .getConnection()
    .execute<{ return_to: string | null }[]>('select return_to from login_transactions');
  return rows
    .map((row) => row.return_to)
    .filter((path): path is string => path !== null && safeReturnTo(path) !== path);
}

/** Each route gets its own stream of values (derived from the base seed and its key). */
function seedOf(key: string): number {
  let hash = 0x811c9dc5;
  for (const char of key) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return (SEED ^ hash) | 0;
}

/**
 * A signed-in caller must still be signed in: a route that ended its session would leave every
 * later route of that caller fuzzed only up to the guard (401), and the run would still pass.
 */
async function expectSignedIn(who: Who, when: string): Promise<void> {
  if (who === 'anonymous') return;
  const answer = await send({
    method: 'GET',
    url: '/api/v1/me',
    headers: { cookie: callers[who].cookie! },
    refused: null,
    sentKeys: [],
    shape: '',
  });
  if (answer.status !== 200)
    throw new Error(`the ${who} caller is not signed in ${when}: ${answer.status}`);
}

async function fuzzRoute(key: string): Promise<void> {
  const target = TARGETS[key];
  await expectSignedIn(target.as, `before ${key}`);
  const handler = handlers.find((h) => routeKey(h) === key);
  if (!handler) throw new Error(`${key} is fuzzed but not mapped (see «fuzzes every route»)`);
  const fields = handler.body ? fieldsOf(handler.body) : [];
  const arbitrary = requestFor({
    handler,
    fields,
    page: target.page === true,
    caller: callers[target.as],
    origin: new URL(t.url).origin,
    known: knownValues(target),
    rawQuery: target.rawQuery ?? [],
  }).map((fuzz) => Object.assign(fuzz, { [fc.toStringMethod]: () => report(fuzz, null, []) }));
  let before = await watch.snapshot();
  await fc.assert(
    fc.asyncProperty(arbitrary, async (fuzz) => {
      const answer = await send(fuzz);
      const after = await watch.snapshot();
      const writes = DatabaseWatch.diff(before, after);
      before = after;
      // Dot segments may take the request to another route once normalised (even off the API,
      // where a page answers); the field names are then that route's.
      const path = new URL(fuzz.url, t.url).pathname;
      const moved = path !== fuzz.url.split('?')[0];
      const problems = contractProblems(answer, {
        errorCodes,
        fieldCodes,
        // A handler that checks its query answers 422 keyed by the parameter's name.
        fields: moved ? null : [...fields.map((f) => f.name), ...handler.query],
        sentKeys: fuzz.sentKeys,
        page: target.page === true || !/^\/(api|\.well-known|health)(\/|$)/.test(path),
      });
      const success = target.page
        ? answer.status < 300 ||
          (answer.status < 400 &&
            !(answer.location ?? '').startsWith('/login') &&
            !target.refusedRedirect?.test(answer.location ?? ''))
        : answer.status < 300;
      if (fuzz.refused && success)
        problems.push(`accepted (${answer.status}) what must be refused: ${fuzz.refused}`);
      const unexpected = writes.changed.filter(
        (table) =>
          !(target.writes && success) &&
          !(target.alwaysWrites ?? []).some((allowed) => table.startsWith(`${allowed} `)),
      );
      if (unexpected.length > 0) problems.push(`wrote rows: ${unexpected.join(', ')}`);
      if (target.alwaysWrites?.includes('login_transactions')) {
        const unsafe = await storedReturnPaths();
        if (unsafe.length > 0) problems.push(`stored return paths ${JSON.stringify(unsafe)}`);
      }
      if (problems.length > 0) throw new Error(report(fuzz, answer, problems));
    }),
    { seed: seedOf(key), numRuns: RUNS },
  );
  await expectSignedIn(target.as, `after ${key} was fuzzed`);
}

describe('fuzzing inventory', () => {
  it('fuzzes every route the service maps, and only those', () => {
    expect(Object.keys(TARGETS).sort()).toEqual(handlers.map(routeKey).sort());
  });

  it('reaches every request DTO under src/**/dto through a fuzzed @Body()', async () => {
    const src = fileURLToPath(new URL('../../src', import.meta.url));
    const files = (function walk(dir: string): string[] {
      return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory()
          ? walk(join(dir, entry.name))
          : basename(dir) === 'dto' && entry.name.endsWith('.ts')
            ? [join(dir, entry.name)]
            : [],
      );
    })(src);
    expect(files.length).toBeGreaterThan(0);
    const dtos = new Map<DtoClass, string>();
    for (const file of files) {
      const specifier = `../../src/${relative(src, file).replace(/\.ts$/, '.js')}`;
      const exported = (await import(specifier)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(exported))
        if (typeof value === 'function' && name.endsWith('Dto')) dtos.set(value as DtoClass, name);
    }
    const fuzzed = new Set(handlers.map((h) => h.body).filter((b): b is DtoClass => b !== null));
    expect([...dtos].filter(([dto]) => !fuzzed.has(dto)).map(([, name]) => name)).toEqual([]);
  });

  it('sends good values as well as hostile ones for every query parameter a handler declares', () => {
    // (The Госуслуги callback's raw `state`/`code` cannot be good without a round trip: hostile only.)
    const missing = handlers.flatMap((h) =>
      h.query
        .filter((name) => !knownValues(TARGETS[routeKey(h)] ?? { as: 'anonymous' })[name]?.length)
        .map((name) => `${routeKey(h)} ?${name}`),
    );
    expect(missing).toEqual([]);
  });

  it('reads every fuzzed DTO’s fields from its validation metadata', () => {
    const empty = handlers.filter((h) => h.body && fieldsOf(h.body).length === 0).map(routeKey);
    expect(empty).toEqual([]);
  });

  it('takes the stable error codes from the source, not from this file', () => {
    for (const code of [
      'validation_failed',
      'unsupported_media_type',
      'payload_too_large',
      'malformed_json',
      'too_many_requests',
      'not_found',
      'unauthenticated',
      'invalid_credentials',
      'cross_origin_request',
    ])
      expect(errorCodes).toContain(code);
    for (const code of ['unknown_field', 'not_string', 'too_long', 'control_character', 'no_digit'])
      expect(fieldCodes).toContain(code);
  });
});

describe('hostile input on every route', () => {
  it.each(Object.keys(TARGETS))(
    '%s: no 5xx, no write when refused, a stable error code',
    async (key) => {
      await fuzzRoute(key);
    },
    600_000,
  );
});

/** A request as raw text, with the database watched around it. */
async function sendWatched(
  method: string,
  url: string,
  headers: Record<string, string>,
  body?: string,
) {
  const before = await watch.snapshot();
  const answer = await send({ method, url, headers, body, refused: null, sentKeys: [], shape: '' });
  const writes = DatabaseWatch.diff(before, await watch.snapshot());
  const json = /json/.test(answer.contentType)
    ? (JSON.parse(answer.text) as Record<string, unknown>)
    : null;
  return { status: answer.status, json, writes: writes.changed };
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** Cases the fuzzer found (each was a 5xx), kept as fixed examples. */
describe('regressions found by fuzzing', () => {
  it('a NUL byte in a client_id on the operator’s page is an unknown client (404), not a 503 from the database', async () => {
    const answer = await sendWatched(
      'POST',
      '/pos/operator/clients/%00/disable',
      {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        cookie: callers.operator.cookie!,
        origin: new URL(t.url).origin,
      },
      `csrf=${CSRF}`,
    );
    expect({ status: answer.status, writes: answer.writes }).toEqual({ status: 404, writes: [] });
  });

  it('a NUL byte in the login is an unknown login (401 invalid_credentials), not a 503 from the database', async () => {
    const api = await sendWatched(
      'POST',
      '/api/v1/auth/login',
      JSON_TYPE,
      JSON.stringify({ login: 'ivanova\u0000', password: 'Zvezda#2026x' }),
    );
    expect(api).toEqual({
      status: 401,
      json: { statusCode: 401, code: 'invalid_credentials', message: 'Неверный логин или пароль' },
      writes: [],
    });
    const page = await sendWatched(
      'POST',
      '/login',
      {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: callers.anonymous.cookie!,
        origin: new URL(t.url).origin,
      },
      `csrf=${CSRF}&login=ivanova%00&password=x`,
    );
    expect(page).toEqual({ status: 401, json: null, writes: [] });
  });

  it('JSON nested 30 000 levels deep is refused with 400 json_too_deep, not a 500', async () => {
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    for (const body of [`{"login":${deep},"password":"x"}`, deep]) {
      const answer = await sendWatched('POST', '/api/v1/auth/login', JSON_TYPE, body);
      expect(answer).toEqual({
        status: 400,
        json: expect.objectContaining({ statusCode: 400, code: 'json_too_deep' }),
        writes: [],
      });
    }
    // Shallow nesting still reaches validation.
    const shallow = await sendWatched(
      'POST',
      '/api/v1/auth/login',
      JSON_TYPE,
      '{"login":[["a"]],"password":"x"}',
    );
    expect(shallow.json?.code).toBe('validation_failed');
  });

  it('an e-mail address with an unpaired surrogate is refused with 422 invalid_email, not a 500', async () => {
    const email = '"\\ud800ivanova@example.ru"';
    const cases: [string, string, Record<string, string>, string][] = [
      [
        'POST',
        '/api/v1/accounts',
        JSON_TYPE,
        `{"login":"fuzz.surrogate","password":"Zvezda#2026x","email":${email}}`,
      ],
      ['PATCH', '/api/v1/me', { ...JSON_TYPE, cookie: callers.user.cookie! }, `{"email":${email}}`],
      [
        'POST',
        `/api/v1/pos/organizations/${fixture.organizations[0]}/members`,
        { ...JSON_TYPE, cookie: callers.admin.cookie! },
        `{"email":${email},"lastName":"Иванова","firstName":"Мария","roles":["executor"]}`,
      ],
    ];
    for (const [method, url, headers, body] of cases) {
      const answer = await sendWatched(method, url, headers, body);
      expect({
        url,
        status: answer.status,
        errors: answer.json?.errors,
        writes: answer.writes,
      }).toEqual({
        url,
        status: 422,
        errors: {
          email: [{ code: 'invalid_email', message: 'Некорректный адрес электронной почты' }],
        },
        writes: [],
      });
    }
  });

  it('a recovery identifier with an unpaired surrogate is refused with 422, not a 500, and queues nothing', async () => {
    const answer = await sendWatched(
      'POST',
      '/api/v1/auth/recovery',
      JSON_TYPE,
      '{"identifier":"\\ud800 "}',
    );
    expect(answer).toEqual({
      status: 422,
      json: expect.objectContaining({
        code: 'validation_failed',
        errors: { identifier: [expect.objectContaining({ code: 'control_character' })] },
      }),
      writes: [],
    });
  });

  it('prototype keys are refused as unknown fields, not dropped', async () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const login = `fuzz.proto.${key.replace(/_/g, '')}`;
      const body = `{"login":"${login}","password":"Zvezda#2026x","${key}":{"isPlatformOperator":true}}`;
      const answer = await sendWatched('POST', '/api/v1/accounts', JSON_TYPE, body);
      expect({ key, status: answer.status, errors: answer.json?.errors }).toEqual({
        key,
        status: 422,
        errors: { [key]: [{ code: 'unknown_field', message: 'Поле не поддерживается' }] },
      });
      expect(answer.writes).toEqual([]);
    }
    const nested = await sendWatched(
      'PATCH',
      '/api/v1/me',
      { ...JSON_TYPE, cookie: callers.user.cookie! },
      '{"phone":"+79120000001","extra":{"constructor":{"prototype":{}}}}',
    );
    expect(nested.status).toBe(422);
    expect(Object.keys(nested.json?.errors ?? {})).toEqual(
      expect.arrayContaining(['extra.constructor', 'extra.constructor.prototype']),
    );
  });

  it('a null for a field that cannot be null is a 422 with the field named, not a 500, and writes nothing', async () => {
    const school = fixture.organizations[1];
    const admin = { ...JSON_TYPE, cookie: callers.admin.cookie! };
    const cases: [string, string, Record<string, string>, Record<string, unknown>, string][] = [
      ['PATCH', `/api/v1/pos/organizations/${school}`, admin, { name: null }, 'name'],
      [
        'POST',
        `/api/v1/pos/organizations/${school}/members`,
        admin,
        {
          email: 'fuzz.null-snils@example.ru',
          lastName: 'Иванова',
          firstName: 'Мария',
          snils: null,
          roles: ['executor'],
        },
        'snils',
      ],
      [
        'POST',
        '/api/v1/accounts',
        JSON_TYPE,
        { login: 'fuzz.null-email', password: 'Zvezda#2026x', email: null },
        'email',
      ],
    ];
    for (const [method, url, headers, body, field] of cases) {
      const answer = await sendWatched(method, url, headers, JSON.stringify(body));
      expect({
        url,
        status: answer.status,
        fields: Object.keys(answer.json?.errors ?? {}),
      }).toEqual({ url, status: 422, fields: [field] });
      expect(answer.writes).toEqual([]);
    }
  });

  it('an administration form posted as JSON with null optional fields is handled (303), not a 500', async () => {
    const school = fixture.organizations[1];
    const cases: [string, Record<string, unknown>][] = [
      [
        '/pos/admin/members',
        {
          email: 'fuzz.null-fields@example.ru',
          lastName: 'Иванова',
          firstName: 'Мария',
          middleName: null,
          position: null,
          roles: ['executor'],
        },
      ],
      ['/pos/admin/organization', { name: 'Школа № 5 (fuzz)', officialSiteUrl: null }],
      [
        '/pos/admin/widget',
        { variant: 'standard', siteUrl: 'https://school5.example.ru', bannerText: null },
      ],
    ];
    for (const [url, fields] of cases) {
      const answer = await send({
        method: 'POST',
        url,
        headers: { ...JSON_TYPE, cookie: callers.admin.cookie!, origin: new URL(t.url).origin },
        body: JSON.stringify({ csrf: CSRF, organizationId: school, ...fields }),
        refused: null,
        sentKeys: [],
        shape: '',
      });
      expect({ url, status: answer.status, location: answer.location }).toEqual({
        url,
        status: 303,
        location: expect.stringMatching(/^\/pos\/admin\?org=/),
      });
    }
  });

  it('a 100 000-character path or query is refused by the HTTP server (431) before the service, writing nothing', async () => {
    for (const url of [
      `/pos/invitations/${'x'.repeat(100_000)}`,
      `/api/v1/pos/organizations/${'я'.repeat(20_000)}`,
      `/login?returnTo=${'%00'.repeat(40_000)}`,
    ]) {
      const answer = await sendWatched('GET', url, { cookie: callers.admin.cookie! });
      expect({ status: answer.status, writes: answer.writes }).toEqual({ status: 431, writes: [] });
    }
  });
});

describe('after the whole run (mass assignment)', () => {
  it('made nobody a platform operator and left the fixtures’ own rows as they were', async () => {
    const em = t.em();
    const operators = await em.find(User, { isPlatformOperator: true });
    expect(operators.map((u) => u.id)).toEqual([fixture.operatorId]);
    const admin = await em.findOneOrFail(Membership, fixture.adminMember);
    expect({ roles: admin.roles, status: admin.status }).toEqual({
      roles: ['admin'],
      status: MembershipStatus.Confirmed,
    });
  });
});
