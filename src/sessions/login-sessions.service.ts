import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { Errors } from '../common/errors.js';
import { User } from '../identity/user.entity.js';
import { type LoginResult } from './login-outcome.js';
import { PasswordChecks } from './password-checks.service.js';
import { SecondFactors } from './second-factors.service.js';
import { AuthMethod, providerMarkOf, Session } from './session.entity.js';
import { SessionEndHooks } from './session-end-hooks.js';
import { endSession } from './session-ending.js';
import { SessionService } from './session.service.js';

/** Who logs in and how, from where, and the session the browser had before (if any). */
export interface SessionOpening {
  user: User;
  method: AuthMethod;
  client: ClientInfo;
  previous: Session | null;
  /** The factor proved after the password, for `amr`. */
  secondFactor?: string;
}

/**
 * Sessions as authentication opens and ends them: a new one (and a new cookie value) on every
 * login and re-authentication, the one the browser had ended with it, and logout.
 */
@Injectable()
export class LoginSessions {
  constructor(
    private readonly em: EntityManager,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly hooks: SessionEndHooks,
    private readonly factors: SecondFactors,
    private readonly checks: PasswordChecks,
  ) {}

  /**
   * Starts a session after a successful authentication, inside the caller's transaction, and
   * flushes it: a new session id on every login; a session the browser already had ends
   * (fixation), and so do or move the applications it signed in to (`replacedEnded`). Every login
   * opens its session here, so none can leave the replaced session's applications behind.
   */
  async open(em: EntityManager, opening: SessionOpening): Promise<LoginResult> {
    const { user, method, client, previous, secondFactor = null } = opening;
    const created = this.openSession(em, user, method, client, previous, secondFactor);
    await em.flush();
    await this.replacedEnded(em, previous, created.session);
    return created;
  }

  /** The session row and its audit event, unflushed. */
  private openSession(
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
    this.audit.recordOwn(
      user.id,
      {
        type: 'login.succeeded',
        client,
        details: { method, sessionId: created.session.id, ...(secondFactor && { secondFactor }) },
      },
      em,
    );
    return created;
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
    const verified = await this.checks.verifyCurrentPassword(
      user,
      password,
      client,
      'reauthentication.failed',
    );
    if (!verified) throw Errors.invalidCredentials();
    // With a second factor enrolled, the password alone does not re-prove the person.
    const secondFactor = await this.factors.reprove(user, session.id, { code, assertion }, client);
    const result = await this.em.transactional(async (em) => {
      const locked = await this.checks.lockVerified(
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
      this.audit.recordOwn(
        user.id,
        {
          type: 'reauthenticated',
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
   * After `openSession` flushed, the applications the replaced session signed in to: the same
   * person logging in again (`prompt=login`, a second login in the same browser) keeps them, moved
   * to the new session as on re-entering the password; another person (a shared computer) must not
   * inherit them, so they end.
   */
  private async replacedEnded(
    em: EntityManager,
    previous: Session | null,
    next: Session,
  ): Promise<void> {
    if (!previous) return;
    if (previous.user.id === next.user.id) await this.hooks.replaced(em, previous.id, next.id);
    else await this.hooks.ended(em, { userId: previous.user.id });
  }

  async logout(session: Session, client: ClientInfo): Promise<void> {
    endSession(session, 'logout');
    this.audit.recordOwn(session.user.id, {
      type: 'logout',
      client,
      details: { sessionId: session.id },
    });
    await this.em.flush();
    await this.hooks.ended(this.em, { userId: session.user.id });
  }
}
