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
import pg from 'pg';
import { BoundedMap } from '../common/bounded-map.js';
import { AppConfig } from '../config/app-config.js';
import { Invitation } from '../pos/invitation.entity.js';
import { DeliveryState, Membership } from '../pos/membership.entity.js';
import { MailMessage, MailStatus } from './mail-message.entity.js';
import { type RenderedMail } from './mail-templates.js';

export const QUEUE = 'mail-deliver';
/** Messages taken per fetch. */
const DELIVERY_BATCH = 10;
/**
 * Deadlines of one SMTP conversation (nodemailer waits up to 10 minutes by default): connecting,
 * the greeting, and silence in between commands. An operator's own values in SMTP_URL win.
 */
const SMTP_DEADLINES = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 30_000,
};
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

/** Pooled connections (nodemailer reads them from the URL): no SMTP handshake per message. */
function pooled(smtpUrl: string, connections: number): string {
  const url = new URL(smtpUrl);
  url.searchParams.set('pool', 'true');
  url.searchParams.set('maxConnections', String(connections));
  for (const [name, value] of Object.entries(SMTP_DEADLINES))
    if (!url.searchParams.has(name)) url.searchParams.set(name, String(value));
  return url.href;
}
export const MAIL_DATABASE_URL = Symbol('MAIL_DATABASE_URL');
/** Whether this process delivers mail (the service) or only enqueues it (the command line). */
export const MAIL_WORKER = Symbol('MAIL_WORKER');

interface AttemptLock {
  release(): Promise<void>;
}

interface DeliverJob {
  messageId: string;
}

const MEMBERSHIP_STATE: Record<`${MailStatus}`, DeliveryState | null> = {
  queued: DeliveryState.Queued,
  sending: DeliveryState.Queued,
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
  private readonly transport: Transporter;
  readonly developmentMailbox: boolean;
  private readonly messageIdDomain: string;
  /** Sent by this process, their state not yet written: id → when SMTP accepted them. */
  private readonly unrecorded = new BoundedMap<string, Date>(10_000);
  /** The connection whose session holds the advisory lock of each attempt this process runs. */
  private lockClient?: Promise<pg.Client>;
  private readonly heldLocks = new Map<string, AttemptLock>();
  private lockQueries: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
    @Inject(MAIL_DATABASE_URL) private readonly databaseUrl: string,
    @Inject(MAIL_WORKER) private readonly worker: boolean,
  ) {
    this.boss = new PgBoss({
      connectionString: databaseUrl,
      schema: 'pgboss',
      max: 4,
      superviseIntervalSeconds: SUPERVISE_INTERVAL_SECONDS,
      monitorIntervalSeconds: SUPERVISE_INTERVAL_SECONDS,
    });
    this.boss.on('error', (error: unknown) => this.logger.error({ err: error }, 'pg-boss error'));
    this.developmentMailbox = !config.mail.smtpUrl;
    // Without SMTP (development only), messages are built but kept in the outbox for /dev/mailbox.
    this.transport = config.mail.smtpUrl
      ? nodemailer.createTransport(pooled(config.mail.smtpUrl, config.mail.connections))
      : nodemailer.createTransport({ jsonTransport: true });
    this.messageIdDomain = config.mail.from.split('@').pop() ?? 'localhost';
  }

  async onModuleInit(): Promise<void> {
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
    const lockClient = this.lockClient;
    this.lockClient = undefined;
    await lockClient?.then((client) => client.end()).catch(() => undefined);
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
    if (message.invitationId && !(await this.invitationLive(em, message.invitationId))) {
      // A re-send, an acceptance or an archive came first: the link is dead, so is the mail.
      message.status = MailStatus.Cancelled;
      await em.flush();
      return;
    }
    const lock = await this.lock(id);
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
   * Writes an attempt's outcome (and the membership's delivery state). A sent message's state is
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
      await this.mirror(em, message);
      await em.flush();
    };
    if (!('sentAt' in outcome)) return write(em ?? this.orm.em.fork());
    for (let attempt = 0; ; attempt += 1) {
      try {
        await write(this.orm.em.fork());
        this.unrecorded.delete(id);
        const lock = this.heldLocks.get(id);
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

  /**
   * The advisory lock of a message's attempt, on this process's lock connection: null while any
   * worker (this process included) runs an attempt of that message. It ends with the session, so
   * a worker that dies frees its messages at once.
   */
  private async lock(id: string): Promise<AttemptLock | null> {
    if (this.heldLocks.has(id)) return null;
    const key = `mail:${id}`;
    const client = await this.lockConnection();
    const [row] = await this.onLockConnection<{ locked: boolean }>(
      client,
      'select pg_try_advisory_lock(hashtextextended($1, 0)) as locked',
      [key],
    );
    if (!row?.locked || this.heldLocks.has(id)) return null;
    const lock: AttemptLock = {
      release: async () => {
        if (this.heldLocks.get(id) !== lock) return;
        this.heldLocks.delete(id);
        await this.onLockConnection(client, 'select pg_advisory_unlock(hashtextextended($1, 0))', [
          key,
        ]).catch(() => undefined);
      },
    };
    this.heldLocks.set(id, lock);
    return lock;
  }

  /** One query at a time on the lock connection, in the order asked (the delivery lanes share it). */
  private onLockConnection<R extends pg.QueryResultRow>(
    client: pg.Client,
    text: string,
    values: unknown[],
  ): Promise<R[]> {
    const result = this.lockQueries.then(() => client.query<R>(text, values));
    this.lockQueries = result.catch(() => undefined);
    return result.then(({ rows }) => rows);
  }

  private lockConnection(): Promise<pg.Client> {
    if (this.lockClient) return this.lockClient;
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: 'identity-link mail outbox',
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
    });
    const lost = () => {
      if (this.lockClient !== connecting) return;
      // The locks went with the session.
      this.lockClient = undefined;
      this.heldLocks.clear();
      client.end().catch(() => undefined);
    };
    client.on('error', lost);
    client.on('end', lost);
    const connecting = client.connect().then(
      () => client,
      (error: unknown) => {
        lost();
        throw error;
      },
    );
    this.lockClient = connecting;
    return connecting;
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
