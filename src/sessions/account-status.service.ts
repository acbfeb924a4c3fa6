import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { lockAccountWhere } from '../identity/account-lock.js';
import { AuditService, type AuditEventType } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { normalizeLogin } from '../identity/normalize.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { SessionManagement } from './session-management.service.js';
import { SessionErrors } from './sessions.texts.js';

const EVENTS: Record<UserStatus, AuditEventType> = {
  [UserStatus.Active]: 'account.unblocked',
  [UserStatus.Blocked]: 'account.blocked',
  [UserStatus.Archived]: 'account.archived',
};

export interface StatusChange {
  user: User;
  previous: UserStatus;
  endedSessions: number;
}

/**
 * Blocking, archiving and unblocking accounts (the platform operator's command line and page). Login
 * already refuses an account that is not active; here the account's sessions also end at once.
 */
@Injectable()
export class AccountStatus {
  constructor(
    private readonly em: EntityManager,
    private readonly sessions: SessionManagement,
    private readonly audit: AuditService,
  ) {}

  /** By login, from the command line. */
  async change(loginInput: string, status: UserStatus, via: 'cli'): Promise<StatusChange> {
    const login = normalizeLogin(loginInput);
    return this.apply('login', login, status, via, () => SessionErrors.userNotFound(login));
  }

  /**
   * By id, from the operator's page: the operator is named in the audit event, and cannot block
   * or archive their own account (it would end the session they act from).
   */
  async changeById(
    userId: string,
    status: UserStatus,
    actor: { user: User; client: ClientInfo },
  ): Promise<StatusChange> {
    if (!actor.user.isPlatformOperator) throw SessionErrors.operatorRequired();
    if (actor.user.id === userId && status !== UserStatus.Active) throw SessionErrors.ownAccount();
    return this.apply('id', userId, status, actor, () => SessionErrors.userNotFoundById());
  }

  /**
   * One transaction: the status, every live session ended, and `sessionsValidAfter` so that no
   * session older than this instant can count again (not even one whose login was committing
   * while this ran), and the audit event. Back to active ends nothing and revives nothing.
   */
  private async apply(
    property: 'id' | 'login',
    value: string,
    status: UserStatus,
    by: 'cli' | { user: User; client: ClientInfo },
    notFound: () => Error,
  ): Promise<StatusChange> {
    return this.em.transactional(async (em) => {
      // The account lock every account change takes: it orders this against a concurrent change
      // of the same account, and lets a login committing its session finish (no deadlock).
      const user = await lockAccountWhere(em, property, value);
      if (!user) throw notFound();
      const previous = user.status;
      let ended: string[] = [];
      if (status !== UserStatus.Active) {
        ended = await this.sessions.end(
          em,
          user,
          status === UserStatus.Blocked ? 'account_blocked' : 'account_archived',
        );
        user.sessionsValidAfter = new Date();
      }
      user.status = status;
      this.audit.record(
        {
          type: EVENTS[status],
          targetUserId: user.id,
          ...(by !== 'cli' && { actorUserId: by.user.id, client: by.client }),
          details: {
            login: user.login,
            previousStatus: previous,
            sessionIds: ended,
            via: by === 'cli' ? 'cli' : 'web',
          },
        },
        em,
      );
      await em.flush();
      return { user, previous, endedSessions: ended.length };
    });
  }
}
