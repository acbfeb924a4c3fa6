import { LockMode, type ObjectQuery } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type AuditEntry, AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { Errors } from '../common/errors.js';
import { type User, UserStatus } from '../identity/user.entity.js';
import { AUTH_CHANNEL } from './auth-change-listener.js';
import { SessionResponse } from './dto/session.response.js';
import { recentlyAuthenticated } from './session-rules.js';
import { type AuthMethod, Session } from './session.entity.js';
import { SessionEndHooks } from './session-end-hooks.js';
import { endedColumns, endSession, type SessionEndReason } from './session-ending.js';
import { SessionErrors } from './sessions.texts.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Which of a user's live sessions `end` ends: one, all but one, only those opened one way. */
export interface EndScope {
  only?: string;
  except?: string;
  method?: AuthMethod;
}

/** How long ending every session may take: far above the pool's 30 s for one request's query. */
const END_EVERYONE_TIMEOUT = '15min';

/** The free-text reason the operator gives for ending every session, as the audit event keeps it. */
export const END_EVERYONE_REASON_MAX = 500;

/**
 * Seeing and ending sessions: the person's own («Активные сеансы»), a member's (ПОС
 * administrators), every session of a blocked or archived account, and every session of everyone
 * (the command line).
 *
 * Ending is a write to the `sessions` rows (revoked_at) through the ORM, in the caller's
 * transaction, never state kept in this process: every instance, and any cache of session
 * lookups, learns of it from the database.
 */
@Injectable()
export class SessionManagement {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly hooks: SessionEndHooks,
  ) {}

  /** The sessions SessionService would still accept for this user, as of `now`. */
  private live(user: User, now: Date): ObjectQuery<Session> {
    return {
      user: user.id,
      revokedAt: null,
      idleExpiresAt: { $gt: now },
      absoluteExpiresAt: { $gt: now },
      ...(user.sessionsValidAfter && { createdAt: { $gte: user.sessionsValidAfter } }),
    };
  }

  /** The user's live sessions, most recently used first; `currentId` is the caller's own. */
  async list(user: User, currentId: string | null): Promise<SessionResponse[]> {
    if (user.status !== UserStatus.Active) return [];
    const sessions = await this.em.find(Session, this.live(user, new Date()), {
      orderBy: { lastSeenAt: 'desc', createdAt: 'desc' },
    });
    return sessions.map((session) => SessionResponse.of(session, currentId));
  }

  /**
   * Ends the user's live sessions inside the caller's transaction: all of them, only `only`, or
   * all but `except`; with `method`, only those opened that way. The rows are locked, then revoked in one flush, so a session cannot slip
   * between reading and ending. Returns the ids that ended (none: nothing matched).
   */
  async end(
    em: EntityManager,
    user: User,
    reason: SessionEndReason,
    scope: EndScope = {},
  ): Promise<string[]> {
    const now = new Date();
    const where = this.live(user, now);
    if (scope.only !== undefined) where.id = scope.only;
    else if (scope.except !== undefined) where.id = { $ne: scope.except };
    if (scope.method !== undefined) where.method = scope.method;
    const sessions = await em.find(Session, where, {
      lockMode: LockMode.PESSIMISTIC_WRITE,
      refresh: true,
    });
    for (const session of sessions) endSession(session, reason, now);
    await em.flush();
    if (sessions.length > 0) await this.hooks.ended(em, { userId: user.id });
    return sessions.map((session) => session.id);
  }

  /**
   * `end` in a transaction of its own, with the audit event `describe` makes of the ended ids
   * (none when it answers null), committed together. Returns the ids.
   */
  async endRecorded(
    user: User,
    reason: SessionEndReason,
    scope: EndScope,
    describe: (ids: string[]) => AuditEntry | null,
  ): Promise<string[]> {
    return this.em.transactional(async (em) => {
      const ids = await this.end(em, user, reason, scope);
      const entry = describe(ids);
      if (entry) {
        this.audit.record(entry, em);
        await em.flush();
      }
      return ids;
    });
  }

  /**
   * Every live session of every person ends at once (the platform operator's command line, after
   * a leaked key or another incident): one UPDATE statement and its audit event in one
   * transaction, never an ORM entity per row. Returns how many ended.
   *
   * Access tokens die with their sessions: the guard checks every token's `sid` against the live
   * session. Every instance's session cache, this process's too, hears first that everything
   * changed (`*`, sent before the update) and then of each row from the `sessions` trigger, and
   * forgets at commit. A login that commits while the
   * statement runs is not seen by it and keeps its session: as far as the database can tell, it
   * came after the operator's decision.
   */
  async endEveryone(reason: string, via: 'cli'): Promise<number> {
    return this.em.transactional(async (em) => {
      // Each row is written and notified by its trigger: a million took 10-27 s on a busy 2-core
      // machine, near the pool's 30 s limit meant for requests.
      await em.execute(`set local statement_timeout = '${END_EVERYONE_TIMEOUT}'`);
      // Notices arrive in the order they were sent: every instance empties its cache on this one
      // at commit, instead of working through a notice per row while still accepting the rest.
      await em.execute(`select pg_notify(?, '*')`, [AUTH_CHANNEL]);
      const now = new Date();
      const ended = await em.nativeUpdate(
        Session,
        { revokedAt: null, idleExpiresAt: { $gt: now }, absoluteExpiresAt: { $gt: now } },
        endedColumns('all_ended_by_operator', now),
      );
      this.audit.record(
        { type: 'session.all_ended', details: { ended, reason, via, at: now.toISOString() } },
        em,
      );
      await em.flush();
      await this.hooks.ended(em, { everyone: true });
      return ended;
    });
  }

  /** «Завершить»: one of the caller's own sessions. Another person's id is simply not found. */
  async endOwn(
    current: Session,
    sessionId: string,
    client: ClientInfo,
  ): Promise<{ endedCurrent: boolean }> {
    if (!UUID.test(sessionId)) throw SessionErrors.sessionNotFound();
    const user = current.user;
    // Ending the session in use is logging out, which never asks for the password.
    const endedCurrent = sessionId === current.id;
    if (!endedCurrent && !recentlyAuthenticated(current)) throw Errors.reauthenticationRequired();
    const ended = await this.endRecorded(user, 'ended_by_user', { only: sessionId }, (ids) =>
      ids.length === 0
        ? null
        : {
            type: 'session.ended',
            actorUserId: user.id,
            targetUserId: user.id,
            client,
            details: { sessionId, current: endedCurrent },
          },
    );
    if (ended.length === 0) throw SessionErrors.sessionNotFound();
    return { endedCurrent };
  }

  /** «Завершить все остальные сеансы»: every session of the caller but the one in use. */
  async endOthers(current: Session, client: ClientInfo): Promise<number> {
    if (!recentlyAuthenticated(current)) throw Errors.reauthenticationRequired();
    const user = current.user;
    const ids = await this.endRecorded(
      user,
      'others_ended_by_user',
      { except: current.id },
      (ended) => ({
        type: 'session.others_ended',
        actorUserId: user.id,
        targetUserId: user.id,
        client,
        details: { keptSessionId: current.id, sessionIds: ended },
      }),
    );
    return ids.length;
  }
}
