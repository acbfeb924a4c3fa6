import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import { fromKysely, PgBoss, type Job } from 'pg-boss';
import { AppConfig } from '../config/app-config.js';
import { Invitation } from '../pos/invitation.entity.js';
import { DeliveryState, Membership } from '../pos/membership.entity.js';
import { MailMessage, MailStatus } from './mail-message.entity.js';
import { type RenderedMail } from './mail-templates.js';

export const QUEUE = 'mail-deliver';
/** Messages taken per fetch. */
const DELIVERY_BATCH = 10;
/** Messages of a batch in flight at once, each on its own pooled SMTP connection. */
const SMTP_CONNECTIONS = 4;

/** Pooled connections (nodemailer reads them from the URL): no SMTP handshake per message. */
function pooled(smtpUrl: string): string {
  const url = new URL(smtpUrl);
  url.searchParams.set('pool', 'true');
  url.searchParams.set('maxConnections', String(SMTP_CONNECTIONS));
  return url.href;
}
export const MAIL_DATABASE_URL = Symbol('MAIL_DATABASE_URL');
/** Whether this process delivers mail (the service) or only enqueues it (the command line). */
export const MAIL_WORKER = Symbol('MAIL_WORKER');

interface DeliverJob {
  messageId: string;
}

const MEMBERSHIP_STATE: Record<`${MailStatus}`, DeliveryState | null> = {
  queued: DeliveryState.Queued,
  sent: DeliveryState.Sent,
  retrying: DeliveryState.Retrying,
  failed: DeliveryState.Failed,
  cancelled: null,
};

/**
 * A durable outbox on PostgreSQL. `enqueue` writes the message and its pg-boss job inside the
 * caller's transaction (pg-boss runs its insert on that transaction through Kysely), so a
 * message exists exactly when the change that caused it committed. Workers deliver through
 * nodemailer with retries and back-off; an SMTP outage delays mail, never loses it.
 */
@Injectable()
export class MailOutbox implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('MailOutbox');
  private readonly boss: PgBoss;
  private readonly transport: Transporter;
  readonly developmentMailbox: boolean;

  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
    @Inject(MAIL_DATABASE_URL) databaseUrl: string,
    @Inject(MAIL_WORKER) private readonly worker: boolean,
  ) {
    this.boss = new PgBoss({ connectionString: databaseUrl, schema: 'pgboss', max: 4 });
    this.boss.on('error', (error: unknown) => this.logger.error({ err: error }, 'pg-boss error'));
    this.developmentMailbox = !config.mail.smtpUrl;
    // Without SMTP (development only), messages are built but kept in the outbox for /dev/mailbox.
    this.transport = config.mail.smtpUrl
      ? nodemailer.createTransport(pooled(config.mail.smtpUrl))
      : nodemailer.createTransport({ jsonTransport: true });
  }

  async onModuleInit(): Promise<void> {
    await this.boss.start();
    await this.boss.createQueue(QUEUE, {
      retryLimit: this.config.mail.retryLimit,
      retryDelay: Math.max(1, Math.round(this.config.mail.retryDelayMs / 1000)),
      retryBackoff: true,
      retryDelayMax: Math.max(1, Math.round(this.config.mail.retryDelayMaxMs / 1000)),
    });
    if (this.worker) {
      // Batches, fetched again at once while they come back full: a bulk invitation is not held
      // to one message per poll. A failed message fails its batch; the retry skips what was sent.
      await this.boss.work<DeliverJob>(
        QUEUE,
        { batchSize: DELIVERY_BATCH, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 },
        async (jobs) => {
          const failures: Error[] = [];
          const queue = [...jobs];
          await Promise.all(
            Array.from({ length: SMTP_CONNECTIONS }, async () => {
              for (let job = queue.shift(); job; job = queue.shift()) {
                await this.deliver(job).catch((error: unknown) => {
                  failures.push(error instanceof Error ? error : new Error(String(error)));
                });
              }
            }),
          );
          if (failures.length > 0) throw failures[0];
        },
      );
    }
  }

  /**
   * The same pg-boss for other background work that belongs with the mail (recovery requests
   * are resolved off the request path so every answer takes the same time).
   */
  get jobs(): PgBoss {
    return this.boss;
  }

  /** Whether this process runs workers (the service) or only enqueues (the command line). */
  get runsWorkers(): boolean {
    return this.worker;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: 5000 });
    this.transport.close();
  }

  /** Writes the message and its delivery job inside the transaction of `em`. */
  async enqueue(
    em: EntityManager,
    to: string,
    mail: RenderedMail,
    refs: { membershipId?: string; invitationId?: string } = {},
  ): Promise<MailMessage> {
    const message = Object.assign(new MailMessage(), {
      to,
      ...mail,
      membershipId: refs.membershipId ?? null,
      invitationId: refs.invitationId ?? null,
    });
    em.persist(message);
    await em.flush();
    await this.boss.send(QUEUE, { messageId: message.id } satisfies DeliverJob, {
      db: fromKysely(em.getKysely()),
    });
    return message;
  }

  private async deliver(job: Job<DeliverJob>): Promise<void> {
    const em = this.orm.em.fork();
    const message = await em.findOne(MailMessage, { id: job.data.messageId });
    if (!message || message.status === MailStatus.Sent || message.status === MailStatus.Cancelled)
      return;
    if (message.invitationId && !(await this.invitationLive(em, message.invitationId))) {
      // A re-send, an acceptance or an archive came first: the link is dead, so is the mail.
      message.status = MailStatus.Cancelled;
      await em.flush();
      return;
    }
    message.attempts += 1;
    try {
      await this.transport.sendMail({
        from: this.config.mail.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      });
      message.status = MailStatus.Sent;
      message.sentAt = new Date();
      message.lastError = null;
      if (this.developmentMailbox && this.config.env === 'development') {
        // Development only (never in tests or production): there is no real mailbox, so the log
        // shows the message's links — an invitation link is a credential anywhere else.
        const links = message.text.match(/https?:\/\/\S+/g) ?? [];
        this.logger.log(
          `development mail to ${message.to}: «${message.subject}» ${links.join(' ')} (all mail: /dev/mailbox)`,
        );
      }
    } catch (error) {
      const last = job.retryCount >= this.config.mail.retryLimit;
      message.status = last ? MailStatus.Failed : MailStatus.Retrying;
      message.lastError = (error instanceof Error ? error.message : String(error)).slice(0, 300);
      this.logger.warn(
        { messageId: message.id, attempt: message.attempts, last },
        `mail delivery failed: ${message.lastError}`,
      );
    }
    await this.mirror(em, message);
    await em.flush();
    if (message.status !== MailStatus.Sent) throw new Error(message.lastError ?? 'delivery failed');
  }

  private async invitationLive(em: EntityManager, invitationId: string): Promise<boolean> {
    const invitation = await em.findOne(Invitation, { id: invitationId });
    return invitation !== null && invitation.acceptedAt === null && invitation.revokedAt === null;
  }

  /** The membership shows the state of its newest message only; an older one cannot overwrite it. */
  private async mirror(em: EntityManager, message: MailMessage): Promise<void> {
    const state = MEMBERSHIP_STATE[message.status];
    if (!message.membershipId || !state) return;
    const newest = await em.findOne(
      MailMessage,
      { membershipId: message.membershipId },
      { orderBy: { createdAt: 'desc' } },
    );
    if (newest?.id !== message.id) return;
    const membership = await em.findOne(Membership, { id: message.membershipId });
    if (!membership) return;
    membership.deliveryState = state;
    membership.deliveryUpdatedAt = new Date();
    membership.deliveryError = message.lastError;
  }
}
