import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditEvent } from '../audit/audit-event.entity.js';
import { AuditService, type AuditEventType } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { PasswordHasher } from '../identity/password-hasher.service.js';
import { User } from '../identity/user.entity.js';
import { AccountNotices } from '../mail/account-notices.js';
import { mailTime } from '../mail/mail-time.js';
import { LoginFailures } from '../throttling/credential-throttle.js';
import {
  accountPolicy,
  afterFailure,
  isLocked,
  lockoutAddressOf,
  type LockoutState,
} from './lockout.js';
import { LoginFailure } from './login-failure.entity.js';

/**
 * Why no password is accepted now: `locked` while the (account, address) pair's lock lasts,
 * `slowed` during the account-wide pause, else null.
 */
export function lockReasonAt(
  pairLockedUntil: Date | null,
  credential: LockoutState,
  now: Date,
): 'locked' | 'slowed' | null {
  if (pairLockedUntil !== null && now < pairLockedUntil) return 'locked';
  return isLocked(credential, now) ? 'slowed' : null;
}

/** At most one lock notice per account in this time. */
const LOCK_NOTICE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * The password checks shared by login, re-authentication, password change and the second-factor
 * settings, and the lockout bookkeeping of their failures.
 */
@Injectable()
export class PasswordChecks {
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
    private readonly hasher: PasswordHasher,
    private readonly audit: AuditService,
    private readonly notices: AccountNotices,
    private readonly addressFailures: LoginFailures,
  ) {}

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
}
