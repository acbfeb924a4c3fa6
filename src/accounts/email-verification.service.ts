import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { DomainError } from '../common/errors.js';
import { newSecret } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { User } from '../identity/user.entity.js';
import { MailOutbox } from '../mail/mail.outbox.js';
import { MailTemplates } from '../mail/mail-templates.js';
import { type Session } from '../sessions/session.entity.js';
import { AccountToken, AccountTokenPurpose } from './account-token.entity.js';
import { findLinkToken, ownerOfLinkToken } from './link-token-lookup.js';
import { LinkErrors } from './account-links.texts.js';
import { lockAccount } from '../identity/account-lock.js';
import { lockSessionAccount } from '../sessions/session-lock.js';
import { mailTime } from '../mail/mail-time.js';

export const VERIFY_EMAIL_TTL_MS = 24 * 60 * 60_000;
/** Verification mails per account and hour (registration, changes and «send again» together). */
export const VERIFICATION_MAILS_PER_HOUR = 5;

/** What a verification link refers to, for its page; nothing is spent by looking. */
export type VerificationLookup =
  { kind: 'usable'; login: string; email: string } | { kind: 'refused'; error: DomainError };

/**
 * E-mail verification: an address is `pending` until the person follows the link sent to it;
 * only then does it become the account's e-mail (unique across accounts), used for notices and
 * recovery. A link is bound to its account and to the exact address it was sent to.
 */
@Injectable()
export class EmailVerification {
  constructor(
    private readonly em: EntityManager,
    private readonly outbox: MailOutbox,
    private readonly templates: MailTemplates,
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  /**
   * Inside the caller's transaction: supersedes the account's earlier links, mails a new one to
   * `user.pendingEmail`, and tells the verified address (if any) that a change was asked for.
   */
  async issue(em: EntityManager, user: User, client?: ClientInfo): Promise<void> {
    const email = user.pendingEmail;
    if (!email) return;
    const since = new Date(Date.now() - 60 * 60_000);
    const window = { user, purpose: AccountTokenPurpose.VerifyEmail, createdAt: { $gte: since } };
    const recent = await em.count(AccountToken, window);
    if (recent >= VERIFICATION_MAILS_PER_HOUR) {
      const oldest = await em.findOneOrFail(AccountToken, window, {
        orderBy: { createdAt: 'asc' },
      });
      const wait = (oldest.createdAt.getTime() + 60 * 60_000 - Date.now()) / 1000;
      throw LinkErrors.verificationLimit(VERIFICATION_MAILS_PER_HOUR, wait);
    }
    await this.supersede(em, user, AccountTokenPurpose.VerifyEmail);
    const { secret: token, digest: hash } = newSecret();
    const createdAt = new Date();
    const expiresAt = new Date(createdAt.getTime() + VERIFY_EMAIL_TTL_MS);
    em.create(AccountToken, {
      user,
      purpose: AccountTokenPurpose.VerifyEmail,
      tokenHash: hash,
      email,
      createdAt,
      expiresAt,
    });
    await this.outbox.enqueue(
      em,
      email,
      this.templates.render('verify-email', {
        login: user.login,
        email,
        link: `${this.config.publicUrl}/verify-email/${token}`,
        expires: mailTime(expiresAt),
      }),
    );
    if (user.email && user.email !== email) {
      // The verified address stays until the new one is verified; its owner hears of the change.
      await this.outbox.enqueue(
        em,
        user.email,
        this.templates.render('email-change-notice', { login: user.login, newEmail: email }),
      );
    }
    this.audit.recordOwn(
      user.id,
      {
        type: 'email.verification_sent',
        client,
        details: { previousVerified: user.email !== null },
      },
      em,
    );
  }

  /** «Отправить письмо ещё раз» for the pending address. */
  async resend(user: User, client: ClientInfo, session?: Session): Promise<void> {
    await this.em.transactional(async (em) => {
      const locked = await lockSessionAccount(em, user.id, session);
      if (!locked.pendingEmail) throw LinkErrors.nothingToVerify();
      await this.issue(em, locked, client);
      await em.flush();
    });
  }

  async lookup(token: string): Promise<VerificationLookup> {
    const found = await findLinkToken(this.em, token, AccountTokenPurpose.VerifyEmail, false);
    if (found instanceof DomainError) return { kind: 'refused', error: found };
    return { kind: 'usable', login: found.user.login, email: found.email };
  }

  /**
   * Follows a link: the address becomes the account's verified e-mail. Single use. The account
   * row is locked before the link (the order every account change uses), then both are checked
   * again under the locks.
   */
  async verify(token: string, client: ClientInfo): Promise<{ userId: string; email: string }> {
    const seen = await findLinkToken(this.em, token, AccountTokenPurpose.VerifyEmail, false);
    if (seen instanceof DomainError)
      return this.refuse(seen, await ownerOfLinkToken(this.em, token), client);
    const userId = seen.user.id;
    let refusal = null as DomainError | null;
    try {
      const result = await this.em.transactional(async (em) => {
        const user = await lockAccount(em, userId);
        const found = await findLinkToken(em, token, AccountTokenPurpose.VerifyEmail, true);
        if (found instanceof DomainError) {
          refusal = found;
          return null;
        }
        found.usedAt = new Date();
        user.email = found.email;
        user.emailVerifiedAt = found.usedAt;
        user.pendingEmail = null;
        this.audit.recordOwn(user.id, { type: 'email.verified', client }, em);
        await em.flush();
        return { userId: user.id, email: found.email };
      });
      if (result) return result;
    } catch (error) {
      // Another account verified the same address first: uniqueness is the database's.
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      refusal = LinkErrors.emailTaken();
    }
    return this.refuse(refusal ?? LinkErrors.invalid('verify'), userId, client);
  }

  private async refuse(
    error: DomainError,
    userId: string | null,
    client: ClientInfo,
  ): Promise<never> {
    return this.audit.refuse(
      {
        type: 'email.verification_failed',
        targetUserId: userId,
        client,
        details: { code: error.code },
      },
      error,
    );
  }

  /** Inside the caller's transaction: the verified address hears that it was removed. */
  async tellRemoved(em: EntityManager, user: User): Promise<void> {
    if (!user.email) return;
    await this.outbox.enqueue(
      em,
      user.email,
      this.templates.render('email-removed-notice', { login: user.login }),
    );
  }

  /** Ends every live link of `purpose` for the account (a newer one, a reset, a new address). */
  async supersede(em: EntityManager, user: User, purpose: AccountTokenPurpose): Promise<void> {
    await em.nativeUpdate(
      AccountToken,
      { user, purpose, usedAt: null, revokedAt: null },
      { revokedAt: new Date() },
    );
  }
}
