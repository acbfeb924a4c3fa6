import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable, Logger } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { DomainError, ValidationFailedError, type FieldErrors } from '../common/errors.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { LoginFailure } from '../sessions/login-failure.entity.js';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { PasswordHasher } from '../identity/password-hasher.service.js';
import { MailOutbox } from '../mail/mail.outbox.js';
import { MailTemplates } from '../mail/mail-templates.js';
import { SessionService } from '../sessions/session.service.js';
import { AccountTokenPurpose } from './account-token.entity.js';
import { findLinkToken, ownerOfLinkToken } from './link-token-lookup.js';
import { LinkErrors } from './account-links.texts.js';
import { EmailVerification } from './email-verification.service.js';
import { PasswordContexts } from './password-context.js';
import { checkPassword } from './password-policy.js';
import { lockAccount } from '../identity/account-lock.js';
import { mailTime } from '../mail/mail-time.js';
import { RecoveryRequests } from './recovery-requests.service.js';

export type RecoveryLookup =
  { kind: 'usable'; login: string; linked: boolean } | { kind: 'refused'; error: DomainError };

/**
 * «Забыли пароль?». A request is answered at once, identically for every identifier: the request
 * path only queues it, and a worker (RecoveryRequests) mails the account's verified address, so
 * neither the answer nor its timing says whether the account exists. The link sets
 * a new password under the full policy, once, within an hour; it ends every session, cancels a
 * pending e-mail change, and never logs the person in.
 */
@Injectable()
export class RecoveryService {
  private readonly logger = new Logger('RecoveryService');

  constructor(
    private readonly em: EntityManager,
    private readonly requests: RecoveryRequests,
    private readonly outbox: MailOutbox,
    private readonly templates: MailTemplates,
    private readonly audit: AuditService,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly verification: EmailVerification,
    private readonly contexts: PasswordContexts,
  ) {}

  /** The same work and the same answer whatever the identifier: queued for the worker. */
  async request(identifier: string, client: ClientInfo): Promise<void> {
    await this.requests.request(identifier, client);
  }

  async lookup(token: string): Promise<RecoveryLookup> {
    const found = await findLinkToken(this.em, token, AccountTokenPurpose.Recovery, false);
    if (found instanceof DomainError) return { kind: 'refused', error: found };
    const identities = await this.em.count(FederatedIdentity, { user: found.user });
    return { kind: 'usable', login: found.user.login, linked: identities > 0 };
  }

  /** Sets the new password. Every other problem first; the token is spent only on success. */
  async reset(
    token: string,
    newPassword: string,
    newPasswordRepeat: string,
    client: ClientInfo,
    options: { keepGosuslugi?: boolean } = {},
  ): Promise<void> {
    const found = await findLinkToken(this.em, token, AccountTokenPurpose.Recovery, false);
    if (found instanceof DomainError)
      return this.fail(found, await ownerOfLinkToken(this.em, token), client);
    const errors: FieldErrors = {};
    const violations = checkPassword(newPassword, await this.contexts.of(found.user));
    if (violations.length > 0) errors.newPassword = violations;
    if (newPassword !== newPasswordRepeat) {
      errors.newPasswordRepeat = [{ code: 'mismatch', message: 'Пароли не совпадают' }];
    }
    if (Object.keys(errors).length > 0) throw new ValidationFailedError(errors);
    const hash = await this.hasher.hash(newPassword);
    let refusal = null as DomainError | null;
    const userId = found.user.id;
    await this.em.transactional(async (em) => {
      // The account first, then the link, then the credential: the order every change takes.
      const user = await lockAccount(em, userId);
      const spent = await findLinkToken(em, token, AccountTokenPurpose.Recovery, true);
      if (spent instanceof DomainError) {
        refusal = spent;
        return;
      }
      const credential = await em.findOne(
        PasswordCredential,
        { user },
        { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
      );
      if (!credential) {
        refusal = LinkErrors.invalid('recovery');
        return;
      }
      const now = new Date();
      spent.usedAt = now;
      credential.hash = hash;
      credential.changedAt = now;
      credential.failureCount = 0;
      credential.lockedUntil = null;
      await em.nativeDelete(LoginFailure, { credential });
      await this.verification.supersede(em, user, AccountTokenPurpose.Recovery);
      // A pending address change is cancelled: it may be the attacker's.
      user.pendingEmail = null;
      await this.verification.supersede(em, user, AccountTokenPurpose.VerifyEmail);
      // A way in the reset does not prove goes too, unless the person keeps it: a Госуслуги
      // profile may have been linked by whoever registered the account on this address before
      // its owner verified it (a pre-hijacked account).
      const unlinked = options.keepGosuslugi ? [] : await em.find(FederatedIdentity, { user });
      for (const identity of unlinked) em.remove(identity);
      // Every session ends, and none older than this instant can come back.
      user.sessionsValidAfter = now;
      const ended = await this.sessions.revokeOthers(em, user, null, 'password_reset');
      await this.outbox.enqueue(
        em,
        user.email ?? spent.email,
        this.templates.render('password-reset-notice', {
          login: user.login,
          when: mailTime(now),
          ip: client.ip,
        }),
      );
      this.audit.recordOwn(
        user.id,
        {
          type: 'recovery.completed',
          client,
          details: {
            endedSessions: ended,
            unlinkedIdentities: unlinked.map((identity) => identity.id),
          },
        },
        em,
      );
      await em.flush();
    });
    if (refusal) return this.fail(refusal, found.user.id, client);
    this.logger.log({ userId: found.user.id }, 'password reset through a recovery link');
  }

  private async fail(
    error: DomainError,
    userId: string | null,
    client: ClientInfo,
  ): Promise<never> {
    return this.audit.refuse(
      { type: 'recovery.failed', targetUserId: userId, client, details: { code: error.code } },
      error,
    );
  }
}
