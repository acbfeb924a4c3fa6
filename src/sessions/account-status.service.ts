import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { lockAccountWhere } from '../accounts/account-lock.js';
import { AuditService, type AuditEventType } from '../audit/audit.service.js';
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
 * Blocking, archiving and unblocking accounts (the platform operator's command line). Login
 * already refuses an account that is not active; here the account's sessions also end at once.
 */
@Injectable()
export class AccountStatus {
  constructor(
    private readonly em: EntityManager,
    private readonly sessions: SessionManagement,
    private readonly audit: AuditService,
  ) {}

  /**
   * One transaction: the status, every live session ended, and `sessionsValidAfter` so that no
   * session older than this instant can count again (not even one whose login was committing
   * while this ran), and the audit event. Back to active ends nothing and revives nothing.
   */
  async change(loginInput: string, status: UserStatus, via: 'cli'): Promise<StatusChange> {
    const login = normalizeLogin(loginInput);
    return this.em.transactional(async (em) => {
      // The account lock every account change takes: it orders this against a concurrent change
      // of the same account, and lets a login committing its session finish (no deadlock).
      const user = await lockAccountWhere(em, 'login', login);
      if (!user) throw SessionErrors.userNotFound(login);
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
          details: { login, previousStatus: previous, sessionIds: ended, via },
        },
        em,
      );
      await em.flush();
      return { user, previous, endedSessions: ended.length };
    });
  }
}
