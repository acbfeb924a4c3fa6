import { LockMode } from '@mikro-orm/core';
import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type Job } from 'pg-boss';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { DomainError, ValidationFailedError, type FieldErrors } from '../common/errors.js';
import { newSecret } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { normalizeEmail, normalizeLogin } from '../identity/normalize.js';
import { LoginFailure } from '../sessions/login-failure.entity.js';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { PasswordHasher } from '../identity/password-hasher.service.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { MailOutbox } from '../mail/mail.outbox.js';
import { MailTemplates } from '../mail/mail-templates.js';
import { SessionService } from '../sessions/session.service.js';
import { AccountToken, AccountTokenPurpose } from './account-token.entity.js';
import { findLinkToken, ownerOfLinkToken } from './link-token-lookup.js';
import { LinkErrors } from './account-links.texts.js';
import { EmailVerification } from './email-verification.service.js';
import { PasswordContexts } from './password-context.js';
import { checkPassword } from './password-policy.js';
import { lockAccount } from '../identity/account-lock.js';
import { mailTime } from '../mail/mail-time.js';

export const RECOVERY_TTL_MS = 60 * 60_000;
/** Recovery mails per account and hour; more requests are recorded and dropped. */
export const RECOVERY_MAILS_PER_HOUR = 3;
const QUEUE = 'account-recovery';
/** Requests taken per fetch; a full batch makes the worker fetch again at once. */
const RECOVERY_BATCH = 20;

interface RecoveryJob {
  identifier: string;
  client: ClientInfo;
}

export type RecoveryLookup =
  { kind: 'usable'; login: string; linked: boolean } | { kind: 'refused'; error: DomainError };

/**
 * «Забыли пароль?». A request is answered at once, identically for every identifier: the request
 * path only queues it (one insert), and a worker looks the account up and mails its verified
 * address — so neither the answer nor its timing says whether the account exists. The link sets
 * a new password under the full policy, once, within an hour; it ends every session, cancels a
 * pending e-mail change, and never logs the person in.
 */
@Injectable()
export class RecoveryService implements OnApplicationBootstrap {
  private readonly logger = new Logger('RecoveryService');

  constructor(
    private readonly orm: MikroORM,
    private readonly em: EntityManager,
    private readonly outbox: MailOutbox,
    private readonly templates: MailTemplates,
    private readonly audit: AuditService,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionService,
    private readonly verification: EmailVerification,
    private readonly config: AppConfig,
    private readonly contexts: PasswordContexts,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Jobs hold what someone typed (a login or an address) and where from: kept one day only.
    await this.outbox.jobs.createQueue(QUEUE, {
      retryLimit: 0,
      retentionSeconds: 24 * 60 * 60,
      deleteAfterSeconds: 24 * 60 * 60,
    });
    if (this.outbox.runsWorkers) {
      await this.outbox.jobs.work<RecoveryJob>(
        QUEUE,
        { batchSize: RECOVERY_BATCH, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
        async (jobs) => {
          // One request's failure must not fail its neighbours in the batch; the person can ask
          // again, and the failure is in the log.
          for (const job of jobs) {
            await this.handle(job).catch(async (error: unknown) => {
              this.logger.error(
                { jobId: job.id, error: error instanceof Error ? error.name : 'unknown' },
                'recovery request failed',
              );
              await this.audit.write({
                type: 'recovery.failed',
                client: job.data.client,
                details: { code: 'request_failed', jobId: job.id },
              });
            });
          }
        },
      );
    }
  }

  /** The same work and the same answer whatever the identifier. */
  async request(identifier: string, client: ClientInfo): Promise<void> {
    await this.outbox.jobs.send(QUEUE, {
      identifier,
      client: { ip: client.ip, userAgent: client.userAgent, requestId: client.requestId },
    } satisfies RecoveryJob);
  }

  private async handle(job: Job<RecoveryJob>): Promise<void> {
    const em = this.orm.em.fork();
    const { identifier, client } = job.data;
    const user = identifier.includes('@')
      ? await em.findOne(User, { email: normalizeEmail(identifier) })
      : await em.findOne(User, { login: normalizeLogin(identifier) });
    const refuse = async (reason: string) => {
      this.audit.record(
        { type: 'recovery.refused', targetUserId: user?.id ?? null, client, details: { reason } },
        em,
      );
      await em.flush();
    };
    if (!user) return refuse('unknown_account');
    this.audit.record({ type: 'recovery.requested', targetUserId: user.id, client }, em);
    // Only a verified address receives anything; a pending one is never trusted.
    if (!user.email) return refuse('no_verified_email');
    if (user.status !== UserStatus.Active) return refuse('account_inactive');
    await em.transactional(async (tx) => {
      const locked = await lockAccount(tx, user.id);
      const since = new Date(Date.now() - 60 * 60_000);
      const recent = await tx.count(AccountToken, {
        user: locked,
        purpose: AccountTokenPurpose.Recovery,
        createdAt: { $gte: since },
      });
      const hasPassword = (await tx.count(PasswordCredential, { user: locked })) > 0;
      if (recent >= RECOVERY_MAILS_PER_HOUR) {
        this.audit.record(
          {
            type: 'recovery.refused',
            targetUserId: locked.id,
            client,
            details: { reason: 'throttled' },
          },
          tx,
        );
      } else if (!hasPassword) {
        // Госуслуги is this account's only way in: say so instead of adding a password.
        const linked = (await tx.count(FederatedIdentity, { user: locked })) > 0;
        await this.outbox.enqueue(
          tx,
          locked.email!,
          this.templates.render('recovery-gosuslugi', {
            login: locked.login,
            linked,
            loginUrl: `${this.config.publicUrl}/login`,
          }),
        );
        this.audit.record(
          {
            type: 'recovery.refused',
            targetUserId: locked.id,
            client,
            details: { reason: 'no_password' },
          },
          tx,
        );
        // A mail counts toward the hourly limit like a link would.
        this.persistToken(tx, locked, 0, true);
      } else {
        await this.verification.supersede(tx, locked, AccountTokenPurpose.Recovery);
        const token = this.persistToken(tx, locked, RECOVERY_TTL_MS, false);
        await this.outbox.enqueue(
          tx,
          locked.email!,
          this.templates.render('recovery', {
            login: locked.login,
            link: `${this.config.publicUrl}/reset-password/${token}`,
            expires: mailTime(new Date(Date.now() + RECOVERY_TTL_MS)),
          }),
        );
        this.audit.record({ type: 'recovery.mail_sent', targetUserId: locked.id, client }, tx);
      }
      await tx.flush();
    });
  }

  private persistToken(em: EntityManager, user: User, ttlMs: number, spent: boolean): string {
    const { secret: token, digest: hash } = newSecret();
    const createdAt = new Date();
    em.persist(
      Object.assign(new AccountToken(), {
        user,
        purpose: AccountTokenPurpose.Recovery,
        tokenHash: hash,
        email: user.email!,
        createdAt,
        expiresAt: new Date(createdAt.getTime() + ttlMs),
        revokedAt: spent ? createdAt : null,
      }),
    );
    return token;
  }

  async lookup(token: string): Promise<RecoveryLookup> {
    const found = await this.find(this.em, token, false);
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
    const found = await this.find(this.em, token, false);
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
      const spent = await this.find(em, token, true);
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
      this.audit.record(
        {
          type: 'recovery.completed',
          actorUserId: user.id,
          targetUserId: user.id,
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

  private async find(
    em: EntityManager,
    token: string,
    lock: boolean,
  ): Promise<AccountToken | DomainError> {
    const result = await findLinkToken(em, token, AccountTokenPurpose.Recovery, lock);
    if (result instanceof DomainError) return result;
    // Sent to the verified address of that moment; a changed address ends the link.
    const { found, user } = result;
    if (user.email !== found.email || user.status !== UserStatus.Active)
      return LinkErrors.invalid('recovery');
    return found;
  }
}
