import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditEvent } from '../audit/audit-event.entity.js';
import { AuditService, type AuditEventType } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { Errors } from '../common/errors.js';
import { aliasedColumns, columnOf, columnsOf, mappedOnce } from '../database/aliased-select.js';
import { AppConfig } from '../config/app-config.js';
import { normalizeLogin } from '../identity/normalize.js';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { PasswordHasher } from '../identity/password-hasher.service.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { AccountNotices } from '../mail/account-notices.js';
import { mailTime } from '../mail/mail-time.js';
import { LoginFailures } from '../throttling/credential-throttle.js';
import {
  accountPolicy,
  afterFailure,
  CLEARED,
  isLocked,
  lockoutAddressOf,
  type LockoutState,
} from './lockout.js';
import { type ChallengePurpose, type LoginChallenge } from './login-challenge.entity.js';
import { LoginChallenges } from './login-challenges.service.js';
import { LoginFailure } from './login-failure.entity.js';
import { secondFactorStep } from './second-factor-rules.js';
import { SecondFactors } from './second-factors.service.js';
import { STAFF_ROLES, type StaffRolesSource } from './staff-roles.js';
import { AuthMethod, providerMarkOf, Session } from './session.entity.js';
import { SessionEndHooks } from './session-end-hooks.js';
import { endSession } from './session-ending.js';
import { SessionService } from './session.service.js';
import { recordUnknownLoginFailure } from './unknown-login.js';

export interface LoginResult {
  session: Session;
  /** The cookie value; shown once, stored only as a hash. */
  token: string;
}

/** A right password that opens no session yet: a second factor is to be proved (or enrolled). */
export interface SecondFactorRequired {
  secondFactor: { purpose: ChallengePurpose; token: string; expiresAt: Date };
}

export type LoginOutcome = LoginResult | SecondFactorRequired;

export function needsSecondFactor(outcome: LoginOutcome): outcome is SecondFactorRequired {
  return 'secondFactor' in outcome;
}

/**
 * `select` of a password row (`c.`) joined to its user (`u.`) by login, with the end of the lock
 * of one (account, address) pair as `f.locked_until` (epoch milliseconds); parameters: the
 * address, the login.
 */
function loginLookup(em: EntityManager): string {
  const metadata = em.getMetadata();
  const credentials = metadata.get(PasswordCredential);
  const users = metadata.get(User);
  const failures = metadata.get(LoginFailure);
  return `select ${[...aliasedColumns(credentials, 'c'), ...aliasedColumns(users, 'u')].join(', ')},
      (select (extract(epoch from f.${columnOf(failures, 'lockedUntil')}) * 1000)::float8
        from "${failures.tableName}" f
        where f.${columnOf(failures, 'credential')} = c."id" and f.${columnOf(failures, 'address')} = ?)
        as "f.locked_until",
      exists (select 1 from "mfa_credentials" m
        where m."user_id" = u."id" and m."confirmed_at" is not null)
        or exists (select 1 from "passkeys" p where p."user_id" = u."id") as "m.enrolled"
    from "${credentials.tableName}" c join "${users.tableName}" u on u."id" = c.${columnOf(credentials, 'user')}
    where u.${columnOf(users, 'login')} = ?`;
}

/**
 * Why no password is accepted now: `locked` while the (account, address) pair's lock lasts,
 * `slowed` during the account-wide pause, else null.
 */
function lockReasonAt(
  pairLockedUntil: Date | null,
  credential: LockoutState,
  now: Date,
): 'locked' | 'slowed' | null {
  if (pairLockedUntil !== null && now < pairLockedUntil) return 'locked';
  return isLocked(credential, now) ? 'slowed' : null;
}

/** At most one lock notice per account in this time. */
const LOCK_NOTICE_INTERVAL_MS = 60 * 60 * 1000;

@Injectable()
export class AuthService {
  private loginLookup?: string;
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly notices: AccountNotices,
    private readonly addressFailures: LoginFailures,
    private readonly hooks: SessionEndHooks,
    private readonly challenges: LoginChallenges,
    private readonly factors: SecondFactors,
    @Optional() @Inject(STAFF_ROLES) private readonly staffRoles?: StaffRolesSource,
  ) {}

  /**
   * Password login. Every failure (unknown login, wrong password, locked or blocked account) costs
   * one argon2 verification and ends in the same error; the audit log tells them apart.
   */
  async login(
    loginInput: string,
    password: string,
    client: ClientInfo,
    previous: Session | null,
  ): Promise<LoginOutcome> {
    const login = normalizeLogin(loginInput);
    // PostgreSQL text holds no NUL, so no login has one; sent in a query it fails the statement
    // (08P01, answered as 503 «database unavailable»). Such a login is simply unknown.
    const address = lockoutAddressOf(client.ip);
    const found = login.includes('\u0000') ? null : await this.findForLogin(login, address);
    if (!found) {
      // What a wrong password costs: one argon2 verification, the failure's transaction, the
      // address's count (threat 9 in SECURITY.md).
      await this.hasher.verifyDummy(password);
      await recordUnknownLoginFailure(this.em, this.audit, client, address);
      await this.addressFailures.failed(client.ip, login);
      throw Errors.invalidCredentials();
    }
    const { credential, pairLockedUntil, mfaEnrolled } = found;
    const user = credential.user;
    const verifiedHash = credential.hash;
    const lockedAtStart = lockReasonAt(pairLockedUntil, credential, new Date());
    const valid = await this.hasher.verify(verifiedHash, password);

    if (lockedAtStart) {
      return this.refuse(client, login, lockedAtStart, user.id);
    }
    if (!valid) {
      await this.recordFailure(credential.id, user.id, client, 'login.failed', 'wrong_password');
      await this.addressFailures.failed(client.ip, login);
      throw Errors.invalidCredentials();
    }
    if (user.status !== UserStatus.Active) {
      return this.refuse(client, login, user.status, user.id);
    }

    const step = await this.secondFactorStepOf(user, mfaEnrolled);
    const rehash = this.hasher.needsRehash(verifiedHash) ? await this.hasher.hash(password) : null;
    if (!rehash && !previous && !step) {
      const opened = await this.openPasswordSession(
        credential,
        verifiedHash,
        user,
        client,
        address,
      );
      if (opened) return opened;
      // The password row changed while argon2 ran (a change, a re-hash, a lockout): decided below.
    }
    const result = await this.em.transactional(async (em) => {
      const locked = await this.lockVerified(em, credential.id, verifiedHash, password);
      if (!locked) return null;
      const { credential: current, unchanged } = locked;
      // A lockout may have begun while argon2 ran: failures are written under the row lock held
      // here, so this reads them all.
      if (await this.lockReason(em, current, address)) return null;
      Object.assign(current, CLEARED);
      await em.nativeDelete(LoginFailure, { credential: current.id, address });
      if (rehash && unchanged) {
        current.hash = rehash;
        this.audit.record(
          { type: 'password.rehashed', actorUserId: user.id, targetUserId: user.id, client },
          em,
        );
      }
      if (step) {
        // The password is right; the session waits for the second factor (and a session the
        // browser already has ends only when a new one opens).
        const { challenge, token } = this.challenges.start(em, user, step, client);
        this.audit.record(
          {
            type: 'mfa.required',
            actorUserId: user.id,
            targetUserId: user.id,
            client,
            details: { purpose: step },
          },
          em,
        );
        await em.flush();
        return { secondFactor: { purpose: step, token, expiresAt: challenge.expiresAt } };
      }
      const created = this.openSession(em, user, AuthMethod.Password, client, previous);
      await em.flush();
      await this.replacedEnded(em, previous, created.session);
      return created;
    });
    return result ?? this.refuse(client, login, 'credential_changed', user.id);
  }

  /** Whether (and how) this account must prove a second factor after its password. */
  private async secondFactorStepOf(
    user: User,
    enrolled: boolean,
  ): Promise<ChallengePurpose | null> {
    const { requiredForAdmins } = this.config.mfa;
    const administrator =
      !enrolled && !user.isPlatformOperator && requiredForAdmins && this.staffRoles
        ? await this.staffRoles.isAdministrator(user.id)
        : false;
    return secondFactorStep(
      { enrolled, operator: user.isPlatformOperator, administrator },
      { requiredForAdmins },
    );
  }

  /**
   * The session a password login waited for, once its second factor is proved (or enrolled): the
   * pending step ends in the same transaction (single use), and the session records the factor
   * for `amr`. A session the browser already had ends (fixation), as at a login.
   */
  async completeSecondFactor(
    challenge: LoginChallenge,
    client: ClientInfo,
    previous: Session | null,
    factor: 'otp' | 'hwk' = 'otp',
  ): Promise<LoginResult> {
    const result = await this.em.transactional(async (em) => {
      if (!(await this.challenges.end(em, challenge))) return null;
      const user = await em.findOneOrFail(User, challenge.user.id, { refresh: true });
      if (user.status !== UserStatus.Active) return null;
      const created = this.openSession(em, user, AuthMethod.Password, client, previous, factor);
      await em.flush();
      await this.replacedEnded(em, previous, created.session);
      return created;
    });
    if (!result) throw Errors.unauthenticated();
    return result;
  }

  /**
   * The account's password row with its user, and when this address's lock on it ends (if it has
   * one), in one statement: through the ORM's query builder this lookup and the lock's were two
   * round trips and most of a login's JavaScript. Entities this request already holds are kept.
   */
  private async findForLogin(
    login: string,
    address: string,
  ): Promise<{
    credential: PasswordCredential;
    pairLockedUntil: Date | null;
    mfaEnrolled: boolean;
  } | null> {
    const sql = (this.loginLookup ??= loginLookup(this.em));
    const [row] = await this.em
      .getConnection()
      .execute<Record<string, unknown>[]>(sql, [address, login]);
    if (!row) return null;
    const em = this.em.getContext();
    // The user first: the credential's reference to it then resolves to this entity.
    mappedOnce(em, User, columnsOf(row, 'u'));
    const credential = mappedOnce(em, PasswordCredential, columnsOf(row, 'c'));
    // Milliseconds since the epoch (the driver leaves timestamps it does not map as text).
    const pairLockedUntil = row['f.locked_until'];
    return {
      credential,
      mfaEnrolled: row['m.enrolled'] === true,
      pairLockedUntil:
        pairLockedUntil === null || pairLockedUntil === undefined
          ? null
          : new Date(Number(pairLockedUntil)),
    };
  }

  /**
   * The common login in one statement (a login is otherwise eight round trips, and each one costs
   * the database and the event loop more than its SQL): the same writes as the transaction
   * below, made only if the password row still holds the hash that was verified and no failure
   * was recorded since it was read (every failure, of any address, writes `last_failure_at` on
   * that row under its lock, so a lock that began while argon2 ran shows there) — the row is
   * locked (`for update`) and re-read by PostgreSQL if another transaction changed it first.
   * Anything else returns null and takes the transaction path, which decides it (another
   * verification after a re-hash, a refusal after a change or a lock).
   */
  private async openPasswordSession(
    credential: PasswordCredential,
    verifiedHash: string,
    user: User,
    client: ClientInfo,
    address: string,
  ): Promise<LoginResult | null> {
    const { session, token } = this.sessions.build(user, AuthMethod.Password, client);
    const now = session.createdAt;
    const details = { method: AuthMethod.Password, sessionId: session.id };
    const rows = await this.em.getConnection().execute<{ id: string }[]>(
      `with credential as (
         select id from password_credentials
         where id = ? and hash = ? and (locked_until is null or locked_until <= ?::timestamptz)
           and last_failure_at is not distinct from ?::timestamptz
           and not exists (select 1 from login_failures
             where credential_id = ? and address = ? and locked_until > ?::timestamptz)
         for update
       ), cleared as (
         update password_credentials
         set failure_count = 0, last_failure_at = null, locked_until = null
         where id in (select id from credential)
           and (failure_count <> 0 or last_failure_at is not null or locked_until is not null)
       ), forgotten as (
         delete from login_failures
         where credential_id in (select id from credential) and address = ?
       ), opened as (
         insert into sessions (id, token_hash, user_id, method, authenticated_with, created_at,
           last_seen_at, authenticated_at, idle_expires_at, absolute_expires_at, ip, user_agent)
         select ?::uuid, ?, ?::uuid, ?::auth_method, ?::auth_method, ?::timestamptz,
           ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?, ? from credential
         returning id
       )
       insert into audit_events (id, type, actor_user_id, target_user_id, ip, user_agent,
         request_id, details, created_at)
       select ?::uuid, 'login.succeeded', ?::uuid, ?::uuid, ?, ?, ?, ?::jsonb, ?::timestamptz
       from opened
       returning id`,
      [
        credential.id,
        verifiedHash,
        now,
        credential.lastFailureAt,
        credential.id,
        address,
        now,
        address,
        session.id,
        session.tokenHash,
        user.id,
        session.method,
        session.authenticatedWith,
        session.createdAt,
        session.lastSeenAt,
        session.authenticatedAt,
        session.idleExpiresAt,
        session.absoluteExpiresAt,
        session.ip,
        session.userAgent,
        randomUUID(),
        user.id,
        user.id,
        client.ip,
        client.userAgent,
        client.requestId,
        JSON.stringify(details),
        now,
      ],
    );
    if (rows.length === 0) return null;
    // What the statement wrote, known to this request's EntityManager as it is in the database.
    return { session: this.em.merge(session), token };
  }

  /**
   * The password row, locked for the rest of the caller's transaction, if it still holds the
   * password checked before: its hash may have changed while argon2 ran, by a password change
   * (null: the old password must not get in) or by a login's re-hash of the same password (it is
   * verified again). `unchanged` says whether the hash is still the one verified.
   */
  async lockVerified(
    em: EntityManager,
    credentialId: string,
    verifiedHash: string,
    password: string,
  ): Promise<{ credential: PasswordCredential; unchanged: boolean } | null> {
    const credential = await em.findOneOrFail(PasswordCredential, credentialId, {
      lockMode: LockMode.PESSIMISTIC_WRITE,
      refresh: true,
    });
    const unchanged = credential.hash === verifiedHash;
    if (!unchanged && !(await this.hasher.verify(credential.hash, password))) return null;
    return { credential, unchanged };
  }

  /**
   * Every login failure: audited with its reason, answered with the one generic error, and
   * counted against the address (`LoginFailures`), unless the password was right and only
   * changed while argon2 ran.
   */
  private async refuse(
    client: ClientInfo,
    login: string,
    reason: string,
    userId?: string,
  ): Promise<never> {
    await this.audit.write({
      type: 'login.failed',
      targetUserId: userId ?? null,
      client,
      details: { reason },
    });
    if (reason !== 'credential_changed') await this.addressFailures.failed(client.ip, login);
    throw Errors.invalidCredentials();
  }

  /**
   * Starts a session after a successful authentication, inside the caller's transaction. A new
   * session id on every login; a session the browser already had ends (fixation).
   */
  openSession(
    em: EntityManager,
    user: User,
    method: AuthMethod,
    client: ClientInfo,
    previous: Session | null,
    secondFactor: string | null = null,
  ): LoginResult {
    if (previous) endSession(previous, 'replaced_by_login');
    const created = this.sessions.create(em, user, method, client);
    created.session.providerSignedInAt = providerMarkOf(previous);
    created.session.secondFactor = secondFactor;
    this.audit.record(
      {
        type: 'login.succeeded',
        actorUserId: user.id,
        targetUserId: user.id,
        client,
        details: { method, sessionId: created.session.id, ...(secondFactor && { secondFactor }) },
      },
      em,
    );
    return created;
  }

  /**
   * Checks the password of a signed-in user (re-authentication, password change). A wrong one
   * counts toward lockout like a failed login; a locked account is refused whatever the password.
   * Returns the credential and the hash that was verified, for a compare-under-lock by the caller.
   */
  async verifyCurrentPassword(
    user: User,
    password: string,
    client: ClientInfo,
    failure: AuditEventType,
  ): Promise<{ credential: PasswordCredential; verifiedHash: string } | null> {
    const credential = await this.em.findOne(PasswordCredential, { user }, { refresh: true });
    if (!credential) {
      await this.hasher.verifyDummy(password);
      return null;
    }
    const locked = await this.lockReason(this.em, credential, lockoutAddressOf(client.ip));
    const verifiedHash = credential.hash;
    const valid = await this.hasher.verify(verifiedHash, password);
    if (locked) {
      await this.audit.write({
        type: failure,
        actorUserId: user.id,
        targetUserId: user.id,
        client,
        details: { reason: locked },
      });
      await this.addressFailures.failed(client.ip, user.login);
      return null;
    }
    if (!valid) {
      await this.recordFailure(credential.id, user.id, client, failure, 'wrong_password');
      await this.addressFailures.failed(client.ip, user.login);
      return null;
    }
    return { credential, verifiedHash };
  }

  /**
   * Re-entering the password in a live session (before linking Госуслуги or ending other sessions).
   * Like a login it ends in a new session with a new token, and the session it confirmed ends with
   * its cookie and access tokens (ASVS 7.2.4): a token someone copied or planted before the password
   * was typed is worth nothing after it. The new session keeps the user and the method the person
   * logged in with; its `authenticatedAt` and expiries start now, proved by the password.
   *
   * Under the credential's row lock (the order password changes and logins take) the password is
   * checked again against a concurrent change, and the old session must still be live: a change
   * that ended it, or a logout, commits either before (refused here) or after (ends the new one).
   */
  async reauthenticate(
    session: Session,
    password: string,
    client: ClientInfo,
    code?: string,
    assertion?: unknown,
  ): Promise<LoginResult> {
    const user = session.user;
    const verified = await this.verifyCurrentPassword(
      user,
      password,
      client,
      'reauthentication.failed',
    );
    if (!verified) throw Errors.invalidCredentials();
    // With a second factor enrolled, the password alone does not re-prove the person.
    const secondFactor = await this.factors.reprove(user, session.id, { code, assertion }, client);
    const result = await this.em.transactional(async (em) => {
      const locked = await this.lockVerified(
        em,
        verified.credential.id,
        verified.verifiedHash,
        password,
      );
      if (!locked) return 'credential_changed' as const;
      const previous = await em.findOne(
        Session,
        { id: session.id, user },
        { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
      );
      if (!previous?.isActive(new Date())) return 'session_ended' as const;
      endSession(previous, 'reauthenticated');
      const created = this.sessions.create(em, user, previous.method, client);
      created.session.providerSignedInAt = providerMarkOf(previous);
      // The session still says how it was opened; what was proved just now is the password.
      created.session.authenticatedWith = AuthMethod.Password;
      created.session.secondFactor = secondFactor;
      // The applications this browser signed in to stay signed in: their link moves along.
      await this.hooks.replaced(em, previous.id, created.session.id);
      this.audit.record(
        {
          type: 'reauthenticated',
          actorUserId: user.id,
          targetUserId: user.id,
          client,
          details: { sessionId: created.session.id, previousSessionId: previous.id },
        },
        em,
      );
      await em.flush();
      return created;
    });
    if (typeof result === 'string') {
      return this.audit.refuse(
        {
          type: 'reauthentication.failed',
          actorUserId: user.id,
          targetUserId: user.id,
          client,
          details: { reason: result },
        },
        result === 'session_ended' ? Errors.unauthenticated() : Errors.invalidCredentials(),
      );
    }
    return result;
  }

  /**
   * Why no password is accepted now for this account from this address, if so: `locked` (this
   * address made too many wrong guesses: the pair lock) or `slowed` (the account-wide pause after
   * too many wrong guesses from all addresses together). The owner's other addresses and
   * Госуслуги are never `locked` by an attacker's guesses.
   */
  async lockReason(
    em: EntityManager,
    credential: PasswordCredential,
    address: string,
  ): Promise<'locked' | 'slowed' | null> {
    const pair = await em.findOne(
      LoginFailure,
      { credential: credential.id, address },
      { refresh: true },
    );
    return lockReasonAt(pair?.lockedUntil ?? null, credential, new Date());
  }

  /**
   * Counts a failed password check for the (account, address) pair and for the account, under the
   * account's row lock (re-read, not cached), so concurrent guesses cannot lose updates, and
   * records a lock or a slow-down when this failure starts one.
   */
  async recordFailure(
    credentialId: string,
    userId: string,
    client: ClientInfo,
    type: AuditEventType,
    reason: string,
  ): Promise<LockoutState> {
    return this.em.transactional(async (em) => {
      const credential = await em.findOneOrFail(PasswordCredential, credentialId, {
        lockMode: LockMode.PESSIMISTIC_WRITE,
        refresh: true,
      });
      const address = lockoutAddressOf(client.ip);
      let pair = await em.findOne(LoginFailure, { credential, address }, { refresh: true });
      if (!pair) em.persist((pair = new LoginFailure(credential, address)));
      const now = new Date();
      const pairWasLocked = isLocked(pair, now);
      const accountWasSlowed = isLocked(credential, now);
      const next = afterFailure(pair, now, this.config.lockout);
      const account = afterFailure(credential, now, accountPolicy(this.config.lockout));
      const pairLocks = !pairWasLocked && isLocked(next, now);
      const accountSlows = !accountWasSlowed && isLocked(account, now);
      // Asked before this failure's own events are recorded (a query flushes what is pending).
      const notify =
        (pairLocks || accountSlows) && !(await this.toldOfLockRecently(em, userId, now));
      Object.assign(pair, next);
      Object.assign(credential, account);
      this.audit.record(
        {
          type,
          targetUserId: userId,
          client,
          details: {
            reason,
            failureCount: next.failureCount,
            accountFailureCount: account.failureCount,
          },
        },
        em,
      );
      if (pairLocks) {
        this.audit.record(
          {
            type: 'login.locked_out',
            targetUserId: userId,
            client,
            details: { scope: 'address', address, lockedUntil: next.lockedUntil?.toISOString() },
          },
          em,
        );
      }
      if (accountSlows) {
        this.audit.record(
          {
            type: 'login.locked_out',
            targetUserId: userId,
            client,
            details: { scope: 'account', lockedUntil: account.lockedUntil?.toISOString() },
          },
          em,
        );
      }
      if (notify) {
        const [scope, until] = pairLocks
          ? (['address', next.lockedUntil!] as const)
          : (['account', account.lockedUntil!] as const);
        const user = await em.findOneOrFail(User, userId);
        await this.notices.tell(
          em,
          user,
          { kind: 'login-locked', scope, until: mailTime(until) },
          client,
          now,
        );
      }
      await em.flush();
      return next;
    });
  }

  /**
   * Whether a lock or slow-down of this account already began within the hour: the owner hears of
   * the first, not of every one an attacker sets off. Asked under the account's row lock, so two
   * locks engaging at once send one notice.
   */
  private async toldOfLockRecently(em: EntityManager, userId: string, now: Date): Promise<boolean> {
    const since = new Date(now.getTime() - LOCK_NOTICE_INTERVAL_MS);
    const recent = await em.count(AuditEvent, {
      type: 'login.locked_out',
      targetUserId: userId,
      createdAt: { $gt: since },
    });
    return recent > 0;
  }

  /**
   * After `openSession` flushed, the applications the replaced session signed in to: the same
   * person logging in again (`prompt=login`, a second login in the same browser) keeps them, moved
   * to the new session as on re-entering the password; another person (a shared computer) must not
   * inherit them, so they end.
   */
  async replacedEnded(em: EntityManager, previous: Session | null, next: Session): Promise<void> {
    if (!previous) return;
    if (previous.user.id === next.user.id) await this.hooks.replaced(em, previous.id, next.id);
    else await this.hooks.ended(em, { userId: previous.user.id });
  }

  async logout(session: Session, client: ClientInfo): Promise<void> {
    endSession(session, 'logout');
    this.audit.record({
      type: 'logout',
      actorUserId: session.user.id,
      targetUserId: session.user.id,
      client,
      details: { sessionId: session.id },
    });
    await this.em.flush();
    await this.hooks.ended(this.em, { userId: session.user.id });
  }
}
