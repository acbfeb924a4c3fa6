import { type FilterQuery } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type ClientInfo } from '../common/client-info.js';
import { MfaCredential } from '../identity/mfa-credential.entity.js';
import { Passkey } from '../identity/passkey.entity.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { MfaReset, type MfaResetResult } from '../sessions/mfa-reset.service.js';
import { AccountStatus, type StatusChange } from '../sessions/account-status.service.js';
import { SessionManagement } from '../sessions/session-management.service.js';
import { SessionErrors } from '../sessions/sessions.texts.js';
import { PosErrors } from './pos.texts.js';

/** Rows of one page of the user search. */
export const USER_PAGE_SIZE = 20;
/** Words of a query that count (a ФИО has three). */
const MAX_TERMS = 4;

export interface UserPage {
  users: User[];
  /** The login to continue after (keyset), when there is a next page. */
  next: string | null;
}

/** `%` and `_` typed by the operator are letters, not patterns. */
function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The platform operator's view of every account: search by login, ФИО or e-mail (each word of the
 * query must match one of them), pages by login (keyset: stable while accounts come and go), and
 * the actions the command line has — block, unblock, archive (AccountStatus) and ending all of a
 * person's sessions.
 */
@Injectable()
export class OperatorUsers {
  constructor(
    private readonly em: EntityManager,
    private readonly status: AccountStatus,
    private readonly sessions: SessionManagement,
    private readonly mfaReset: MfaReset,
  ) {}

  async search(actor: User, query: string, after: string | null): Promise<UserPage> {
    if (!actor.isPlatformOperator) throw PosErrors.notOperator();
    const terms = query.trim().split(/\s+/).filter(Boolean).slice(0, MAX_TERMS);
    const where: FilterQuery<User>[] = terms.map((term) => {
      const like = `%${escapeLike(term)}%`;
      return {
        $or: [
          { login: { $ilike: like } },
          { email: { $ilike: like } },
          { lastName: { $ilike: like } },
          { firstName: { $ilike: like } },
          { middleName: { $ilike: like } },
        ],
      };
    });
    if (after) where.push({ login: { $gt: after } });
    const users = await this.em.find(
      User,
      { $and: where },
      { orderBy: { login: 'asc' }, limit: USER_PAGE_SIZE + 1 },
    );
    const more = users.length > USER_PAGE_SIZE;
    const shown = users.slice(0, USER_PAGE_SIZE);
    return { users: shown, next: more ? shown[shown.length - 1].login : null };
  }

  changeStatus(
    actor: User,
    userId: string,
    status: UserStatus,
    client: ClientInfo,
  ): Promise<StatusChange> {
    return this.status.changeById(userId, status, { user: actor, client });
  }

  /** Which of these accounts have a second factor (the users tab offers to reset it). */
  async withSecondFactor(userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const factors = await this.em.find(
      MfaCredential,
      { user: { $in: userIds } },
      { fields: ['user'] },
    );
    const passkeys = await this.em.find(Passkey, { user: { $in: userIds } }, { fields: ['user'] });
    return new Set([...factors, ...passkeys].map((factor) => factor.user.id));
  }

  /** «Сбросить второй фактор»: MfaReset, with the operator named in the audit event. */
  resetSecondFactor(actor: User, userId: string, client: ClientInfo): Promise<MfaResetResult> {
    return this.mfaReset.byId(userId, { user: actor, client });
  }

  /** «Завершить все сеансы»: every live session of the person, with the audit event. */
  async endSessions(actor: User, userId: string, client: ClientInfo): Promise<number> {
    if (!actor.isPlatformOperator) throw PosErrors.notOperator();
    if (actor.id === userId) throw SessionErrors.ownAccount();
    const user = await this.em.findOne(User, { id: userId });
    if (!user) throw SessionErrors.userNotFoundById();
    const ended = await this.sessions.endRecorded(user, 'ended_by_admin', {}, (ids) => ({
      type: 'account.sessions_ended',
      actorUserId: actor.id,
      targetUserId: user.id,
      client,
      details: { login: user.login, sessionIds: ids, via: 'web' },
    }));
    return ended.length;
  }
}
