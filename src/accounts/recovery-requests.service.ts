import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { type Job } from 'pg-boss';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { newSecret } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { normalizeEmail, normalizeLogin } from '../identity/normalize.js';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { MailOutbox } from '../mail/mail.outbox.js';
import { MailTemplates } from '../mail/mail-templates.js';
import { mailTime } from '../mail/mail-time.js';
import { AccountToken, AccountTokenPurpose } from './account-token.entity.js';
import { EmailVerification } from './email-verification.service.js';
import { lockAccount } from '../identity/account-lock.js';

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

/**
 * The request half of «Забыли пароль?»: the request path only queues what was typed (one
 * insert), and a worker looks the account up and mails its verified address — so neither the
 * answer nor its timing says whether the account exists.
 */
@Injectable()
export class RecoveryRequests implements OnApplicationBootstrap {
  // The recovery flow logs under one name, whichever half writes.
  private readonly logger = new Logger('RecoveryService');

  constructor(
    private readonly orm: MikroORM,
    private readonly outbox: MailOutbox,
    private readonly templates: MailTemplates,
    private readonly audit: AuditService,
    private readonly verification: EmailVerification,
    private readonly config: AppConfig,
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
    em.create(AccountToken, {
      user,
      purpose: AccountTokenPurpose.Recovery,
      tokenHash: hash,
      email: user.email!,
      createdAt,
      expiresAt: new Date(createdAt.getTime() + ttlMs),
      revokedAt: spent ? createdAt : null,
    });
    return token;
  }
}
