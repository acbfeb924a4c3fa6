import { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationShutdown,
  type OnModuleInit,
  Optional,
} from '@nestjs/common';
import { fromKysely, PgBoss, type Job } from 'pg-boss';
import { BoundedMap } from '../common/bounded-map.js';
import { AppConfig } from '../config/app-config.js';
import { DetachedSocket } from '../database/detached-socket.js';
import { AttemptLocks } from './attempt-locks.js';
import {
  DELIVERY_LISTENER,
  type DeliveryListenerPort,
  reportDelivery,
} from './delivery-listener.js';
import { MailMessage, MailStatus } from './mail-message.entity.js';
import { type RenderedMail } from './mail-templates.js';
import { type MailTransport, smtpTransport } from './smtp-transport.js';

export const QUEUE = 'mail-deliver';
/** Messages taken per fetch. */
const DELIVERY_BATCH = 10;
/**
 * A delivery job must prove every 10 s that its worker lives (pg-boss's minimum), and a queue is
 * supervised every 10 s (by whichever instance claims it first; pg-boss's default is a minute):
 * the jobs of a worker that crashed go back to the queue within about 20 s plus the retry delay,
 * instead of pg-boss's default 15-minute expiry.
 */
const JOB_HEARTBEAT_SECONDS = 10;
const SUPERVISE_INTERVAL_SECONDS = 10;
/** A sent message whose state could not be written is tried again for about half a minute. */
const RECORD_RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 16_000];

export const MAIL_DATABASE_URL = Symbol('MAIL_DATABASE_URL');
/** Whether this process delivers mail (the service) or only enqueues it (the command line). */
export const MAIL_WORKER = Symbol('MAIL_WORKER');

interface DeliverJob {
  messageId: string;
}

/**
 * pg-boss's options. It hands them to its own `pg` pool, whose connections are opened when a job
 * is sent, often inside a request (a recovery request, a widget check): they connect outside it
 * (src/database/detached-socket.ts; `stream` is not in pg-boss's types, pg reads it).
 */
export function outboxBossOptions(databaseUrl: string) {
  return {
    connectionString: databaseUrl,
    schema: 'pgboss',
    max: 4,
    superviseIntervalSeconds: SUPERVISE_INTERVAL_SECONDS,
    monitorIntervalSeconds: SUPERVISE_INTERVAL_SECONDS,
    stream: () => new DetachedSocket(),
  };
}

/**
 * A durable outbox on PostgreSQL. `enqueue` writes the message and its pg-boss job inside the
 * caller's transaction (pg-boss runs its insert on that transaction through Kysely), so a
 * message exists exactly when the change that caused it committed. Workers deliver through
 * nodemailer with retries and back-off; an SMTP outage delays mail, never loses it.
 *
 * Each message is sent once, also when the database fails around the send:
 * - the attempt is committed (`sending`) before the SMTP conversation, under an advisory lock of
 *   this process's own connection that it holds until the outcome is written; a database that
 *   refuses that write stops the attempt before anything is sent;
 * - a sent message whose state cannot be written is remembered here and written again (about
 *   half a minute, then again by the job's retry), never sent again by this process;
 * - a job that finds a `sending` message whose lock is held leaves it to its holder; one whose
 *   lock is free was abandoned by a worker that died (or lost its database connection) mid-send,
 *   and only then is it sent again, with the same Message-ID, `<message id@sender's domain>`, so
 *   the recipient's mail system can recognise the copy. docs/deployment.md says what remains.
 */
@Injectable()
export class MailOutbox implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('MailOutbox');
  private readonly boss: PgBoss;
  private readonly transport: MailTransport;
  readonly developmentMailbox: boolean;
  private readonly messageIdDomain: string;
  /** Sent by this process, their state not yet written: id → when SMTP accepted them. */
  private readonly unrecorded = new BoundedMap<string, Date>(10_000);
  private readonly locks: AttemptLocks;

  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
    @Inject(MAIL_DATABASE_URL) databaseUrl: string,
    @Inject(MAIL_WORKER) private readonly worker: boolean,
    // Only a worker reports deliveries: the command line, which only enqueues, has no listener.
    @Optional() @Inject(DELIVERY_LISTENER) private readonly listener?: DeliveryListenerPort,
  ) {
    this.boss = new PgBoss(outboxBossOptions(databaseUrl));
    this.boss.on('error', (error: unknown) => this.logger.error({ err: error }, 'pg-boss error'));
    this.developmentMailbox = !config.mail.smtpUrl;
    this.transport = smtpTransport(config.mail);
    this.locks = new AttemptLocks(databaseUrl);
    this.messageIdDomain = config.mail.from.split('@').pop() ?? 'localhost';
  }

  async onModuleInit(): Promise<void> {
    if (this.worker && !this.listener)
      throw new Error('a mail worker needs a delivery listener (MailModule.forRoot)');
    await this.boss.start();
    const queue = {
      retryLimit: this.config.mail.retryLimit,
      retryDelay: Math.max(1, Math.round(this.config.mail.retryDelayMs / 1000)),
      retryBackoff: true,
      retryDelayMax: Math.max(1, Math.round(this.config.mail.retryDelayMaxMs / 1000)),
      heartbeatSeconds: JOB_HEARTBEAT_SECONDS,
    };
    // createQueue leaves an existing queue as it was: its options are brought up to date too.
    await this.boss.createQueue(QUEUE, queue);
    await this.boss.updateQueue(QUEUE, queue);
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
            Array.from({ length: this.config.mail.connections }, async () => {
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
    await this.locks.close();
  }

  /** Writes the message and its delivery job inside the transaction of `em`. */
  async enqueue(
    em: EntityManager,
    to: string,
    mail: RenderedMail,
    refs: { membershipId?: string; invitationId?: string } = {},
  ): Promise<MailMessage> {
    const message = em.create(MailMessage, {
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
    const id = job.data.messageId;
    const acceptedAt = this.unrecorded.get(id);
    if (acceptedAt) return this.record(id, { sentAt: acceptedAt });
    const em = this.orm.em.fork();
    const message = await em.findOne(MailMessage, { id });
    if (!message || message.status === MailStatus.Sent || message.status === MailStatus.Cancelled)
      return;
    if (message.invitationId && !(await this.listener?.invitationLive(em, message.invitationId))) {
      // A re-send, an acceptance or an archive came first: the link is dead, so is the mail.
      message.status = MailStatus.Cancelled;
      await em.flush();
      return;
    }
    const lock = await this.locks.lock(id);
    if (!lock) throw new Error('another worker is delivering this message');
    try {
      await this.attempt(em, message, job.retryCount >= this.config.mail.retryLimit);
    } finally {
      // Still unrecorded: keep the lock, so no other worker sends it again while this one lives.
      if (!this.unrecorded.has(id)) await lock.release();
    }
  }

  private async attempt(em: EntityManager, message: MailMessage, last: boolean): Promise<void> {
    // The row may have moved since it was read (another worker finished it before this lock).
    await em.refresh(message);
    if (message.status === MailStatus.Sent || message.status === MailStatus.Cancelled) return;
    if (message.status === MailStatus.Sending)
      this.logger.warn(
        { messageId: message.id, attempt: message.attempts },
        'mail attempt abandoned by its worker: sending again with the same Message-ID',
      );
    message.status = MailStatus.Sending;
    message.attempts += 1;
    message.attemptStartedAt = new Date();
    await em.flush();
    try {
      await this.transport.sendMail({
        messageId: `<${message.id}@${this.messageIdDomain}>`,
        from: this.config.mail.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      });
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).slice(0, 300);
      this.logger.warn(
        { messageId: message.id, attempt: message.attempts, last },
        `mail delivery failed: ${reason}`,
      );
      await this.record(message.id, { failed: reason, last }, em);
      throw new Error(reason, { cause: error });
    }
    const sentAt = new Date();
    this.unrecorded.set(message.id, sentAt);
    if (this.developmentMailbox && this.config.env === 'development') {
      // Development only (never in tests or production): there is no real mailbox, so the log
      // shows the message's links — an invitation link is a credential anywhere else.
      const links = message.text.match(/https?:\/\/\S+/g) ?? [];
      this.logger.log(
        `development mail to ${message.to}: «${message.subject}» ${links.join(' ')} (all mail: /dev/mailbox)`,
      );
    }
    await this.record(message.id, { sentAt });
  }

  /**
   * Writes an attempt's outcome (and tells the listener). A sent message's state is
   * tried again while the database refuses it; until it is written, `unrecorded` keeps this
   * process from sending it again.
   */
  private async record(
    id: string,
    outcome: { sentAt: Date } | { failed: string; last: boolean },
    em?: EntityManager,
  ): Promise<void> {
    const write = async (em: EntityManager) => {
      const message = await em.findOneOrFail(MailMessage, { id });
      if ('sentAt' in outcome) {
        message.status = MailStatus.Sent;
        message.sentAt = outcome.sentAt;
        message.lastError = null;
      } else {
        message.status = outcome.last ? MailStatus.Failed : MailStatus.Retrying;
        message.lastError = outcome.failed;
      }
      if (this.listener) await reportDelivery(em, message, this.listener);
      await em.flush();
    };
    if (!('sentAt' in outcome)) return write(em ?? this.orm.em.fork());
    for (let attempt = 0; ; attempt += 1) {
      try {
        await write(this.orm.em.fork());
        this.unrecorded.delete(id);
        const lock = this.locks.heldFor(id);
        await lock?.release();
        return;
      } catch (error) {
        const delay = RECORD_RETRY_DELAYS_MS[attempt];
        if (delay === undefined) throw error;
        this.logger.warn(
          { messageId: id, err: error },
          'mail sent but its state could not be written: trying again',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
