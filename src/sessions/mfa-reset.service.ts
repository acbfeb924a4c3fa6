import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { lockAccountWhere } from '../identity/account-lock.js';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { MfaCredential } from '../identity/mfa-credential.entity.js';
import { MfaRecoveryCode } from '../identity/mfa-recovery-code.entity.js';
import { Passkey } from '../identity/passkey.entity.js';
import { normalizeLogin } from '../identity/normalize.js';
import { type User } from '../identity/user.entity.js';
import { AccountNotices } from '../mail/account-notices.js';
import { SecondFactorErrors } from './second-factor.texts.js';
import { SessionManagement } from './session-management.service.js';
import { SessionErrors } from './sessions.texts.js';

export interface MfaResetResult {
  user: User;
  /** Which kinds of factor were removed (`totp`, `passkey`). */
  removed: string[];
  endedSessions: number;
  /** Whether the notice went to a verified address. */
  notified: boolean;
}

/**
 * Removes a lost second factor on the platform operator's word (ASVS 6.4.4): `user:mfa-reset` and
 * «Сбросить второй фактор» on the operator's «Пользователи». Proving that the caller is the
 * account's owner is the operator's procedure before this (SECURITY.md, threat 14): the service
 * cannot check it. One transaction under the account lock: every factor and recovery code gone,
 * every session ended and `sessionsValidAfter` moved (a session opened with the lost factor must
 * not outlive it), the audit event `mfa.reset`, and the notice to the verified address. The next
 * password login of an account that must have a factor (an operator, an administrator under
 * MFA_REQUIRED_FOR_ADMINS) goes through enrolment again.
 */
@Injectable()
export class MfaReset {
  constructor(
    private readonly em: EntityManager,
    private readonly sessions: SessionManagement,
    private readonly notices: AccountNotices,
    private readonly audit: AuditService,
  ) {}

  /** By login, from the command line. */
  byLogin(loginInput: string): Promise<MfaResetResult> {
    const login = normalizeLogin(loginInput);
    return this.apply('login', login, 'cli', () => SessionErrors.userNotFound(login));
  }

  /** By id, from the operator's page; never the operator's own factor (another operator does it). */
  byId(userId: string, actor: { user: User; client: ClientInfo }): Promise<MfaResetResult> {
    if (!actor.user.isPlatformOperator) throw SessionErrors.operatorRequired();
    if (actor.user.id === userId) throw SessionErrors.ownAccount();
    return this.apply('id', userId, actor, () => SessionErrors.userNotFoundById());
  }

  private apply(
    property: 'id' | 'login',
    value: string,
    by: 'cli' | { user: User; client: ClientInfo },
    notFound: () => Error,
  ): Promise<MfaResetResult> {
    return this.em.transactional(async (em) => {
      const user = await lockAccountWhere(em, property, value);
      if (!user) throw notFound();
      const factors = await em.find(MfaCredential, { user: user.id }, { refresh: true });
      const passkeys = await em.count(Passkey, { user: user.id });
      if (factors.length === 0 && passkeys === 0) throw SecondFactorErrors.notEnrolled();
      await em.nativeDelete(MfaCredential, { user: user.id });
      await em.nativeDelete(MfaRecoveryCode, { user: user.id });
      // A lost device may hold the passkey as well as the authenticator app.
      await em.nativeDelete(Passkey, { user: user.id });
      const ended = await this.sessions.end(em, user, 'mfa_reset');
      user.sessionsValidAfter = new Date();
      const removed: string[] = [
        ...factors.map((factor) => factor.kind),
        ...(passkeys > 0 ? ['passkey'] : []),
      ];
      const client: ClientInfo =
        by === 'cli' ? { ip: null, userAgent: null, requestId: null } : by.client;
      const notified = await this.notices.tell(em, user, { kind: 'mfa-reset' }, client);
      this.audit.record(
        {
          type: 'mfa.reset',
          targetUserId: user.id,
          ...(by !== 'cli' && { actorUserId: by.user.id, client: by.client }),
          details: {
            login: user.login,
            removed,
            sessionIds: ended,
            notified,
            via: by === 'cli' ? 'cli' : 'web',
          },
        },
        em,
      );
      await em.flush();
      return { user, removed, endedSessions: ended.length, notified };
    });
  }
}
