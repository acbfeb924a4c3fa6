import {
  ChangeSetType,
  type EventSubscriber,
  type FlushEventArgs,
  MikroORM,
  type TransactionEventArgs,
} from '@mikro-orm/postgresql';
import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { type EntityManager } from '@mikro-orm/core';
import pg from 'pg';
import { type SessionFacts } from './auth-context.js';
import { ListenerHealth } from '../common/listener-health.js';
import { AppConfig } from '../config/app-config.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { User } from '../identity/user.entity.js';
import { Session } from './session.entity.js';

/** The channel the triggers of Migration20261124120000 and …150000 notify on: `s:<session id>`, `u:<user id>` or `*`. */
export const AUTH_CHANNEL = 'identity_link_auth';

/** Enough for every session active within the TTL on one instance of a region's service. */
const MAX_ENTRIES = 50_000;
const RECONNECT_DELAY_MS = 1000;
/** How often the LISTEN connection is asked to prove it is alive and caught up. */
const HEARTBEAT_INTERVAL_MS = 250;
/**
 * Memory answers only while a heartbeat sent less than this long ago has come back. PostgreSQL
 * delivers a listener's pending notifications before the answer to its next query, so that answer
 * proves every change committed before the heartbeat was sent has been applied here. A session
 * ended elsewhere is so refused here within this bound even when the listening connection (its
 * backend, the network, this event loop) stalls without breaking. SECURITY.md states it.
 */
export const HEARTBEAT_FRESH_MS = 750;

/**
 * A session joined to its user as SessionService reads it: each side's columns as the database
 * returned them (for making entities), the token hash, and the facts checked on every request.
 * Shared by every request that finds it here: nobody may change it.
 */
export interface CachedSession {
  readonly session: Readonly<Record<string, unknown>>;
  readonly user: Readonly<Record<string, unknown>>;
  readonly tokenHash: string;
  readonly facts: SessionFacts;
}

interface Entry {
  row: CachedSession;
  tokenHash: string;
  userId: string;
  expiresAt: number;
}

/**
 * Live sessions and their users, kept by each instance so that authenticating a request costs no
 * database round trip.
 *
 * Correctness rests on PostgreSQL, not on a TTL: triggers on `sessions` and `users` notify every
 * instance of each committed update or delete. The cache is used only while this instance's
 * LISTEN connection is up; when it drops, everything is forgotten, and lookups go to the database
 * until the connection is back (notifications sent meanwhile are lost). A read that was in flight
 * while a notification arrived is not cached (the generation check), so a slow read cannot put
 * back what a commit has just invalidated. Writes made by this instance through the ORM evict at
 * flush, before their response leaves. The TTL only bounds how long an entry lives untouched.
 *
 * What remains is the notification's own delay: a session ended on one instance may still be
 * accepted by another for the moment it takes PostgreSQL to deliver the notification (well under
 * a millisecond on a healthy connection), and never longer than `HEARTBEAT_FRESH_MS` when the
 * connection stalls without breaking. SECURITY.md states this.
 */
@Injectable()
export class SessionCache
  extends ListenerHealth
  implements EventSubscriber, OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown
{
  private readonly logger = new Logger(SessionCache.name);
  private readonly entries = new Map<string, Entry>();
  private readonly byToken = new Map<string, string>();
  private readonly byUser = new Map<string, Set<string>>();
  /** What each open transaction evicted, to evict again at its commit. */
  private readonly evictedIn = new WeakMap<object, { users: Set<string>; sessions: Set<string> }>();
  /** Bumped by every invalidation; a read started under another generation is not cached. */
  private generation = 0;
  private listening = false;
  /** When the newest heartbeat that has come back was sent. */
  private confirmedAt = 0;
  private heartbeatInFlight = false;
  private late = false;
  private stopped = false;
  private client?: pg.Client;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
  ) {
    super();
  }

  private get enabled(): boolean {
    return this.config.session.cacheTtlMs > 0;
  }

  onModuleInit(): void {
    if (this.enabled) this.orm.em.getEventManager().registerSubscriber(this);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.enabled) await this.listen();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.down();
  }

  /** Whether the LISTEN connection is up (for tests and the health report). */
  get active(): boolean {
    return this.enabled && this.listening;
  }

  get listenerState(): 'off' | 'listening' | 'down' {
    if (!this.enabled) return 'off';
    return this.listening ? 'listening' : 'down';
  }

  /** Whether memory may answer now: listening, and a recent heartbeat proves it caught up. */
  private get fresh(): boolean {
    return this.listening && Date.now() - this.confirmedAt < HEARTBEAT_FRESH_MS;
  }

  /** The cached session for its id or token hash, if the cache may be used and has it. */
  get(by: 'id' | 'tokenHash', value: string): CachedSession | undefined {
    if (!this.fresh) return undefined;
    const id = by === 'id' ? value : this.byToken.get(value);
    const entry = id === undefined ? undefined : this.entries.get(id);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.evictSession(id!);
      return undefined;
    }
    return entry.row;
  }

  /** Taken before a database read; `put` refuses the row if anything was invalidated since. */
  ticket(): number {
    return this.fresh ? this.generation : -1;
  }

  put(
    ticket: number,
    row: CachedSession,
    keys: { id: string; tokenHash: string; userId: string },
  ): void {
    if (!this.fresh || ticket !== this.generation) return;
    if (this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.evictSession(oldest);
    }
    this.evictSession(keys.id);
    this.entries.set(keys.id, {
      row,
      tokenHash: keys.tokenHash,
      userId: keys.userId,
      expiresAt: Date.now() + this.config.session.cacheTtlMs,
    });
    this.byToken.set(keys.tokenHash, keys.id);
    let sessions = this.byUser.get(keys.userId);
    if (!sessions) this.byUser.set(keys.userId, (sessions = new Set()));
    sessions.add(keys.id);
  }

  /**
   * For writes the ORM does not track (bulk updates): evict at once rather than on notification.
   * With `em` inside a transaction, evicted once more when it commits (see `afterFlush`).
   */
  invalidateUser(userId: string, em?: EntityManager): void {
    this.generation += 1;
    for (const id of [...(this.byUser.get(userId) ?? [])]) this.evictSession(id);
    this.atCommit(em, 'users', userId);
  }

  invalidateSession(sessionId: string, em?: EntityManager): void {
    this.generation += 1;
    this.evictSession(sessionId);
    this.atCommit(em, 'sessions', sessionId);
  }

  /**
   * ORM flushes of this instance: evicted before the response leaves, not on notification. A
   * flush inside a transaction comes before its commit, and meanwhile another request may read
   * the old row (still the committed one) and cache it; so what a transaction evicted is evicted
   * again when it commits.
   */
  afterFlush({ uow, em }: FlushEventArgs): void {
    for (const change of uow.getChangeSets()) {
      // Linked identities travel with the user's cached sessions: a new one counts too.
      if (change.entity instanceof FederatedIdentity)
        this.invalidateUser(change.entity.user.id, em);
      if (change.type === ChangeSetType.CREATE) continue;
      if (change.entity instanceof Session) this.invalidateSession(change.entity.id, em);
      else if (change.entity instanceof User) this.invalidateUser(change.entity.id, em);
    }
  }

  afterTransactionCommit(args: TransactionEventArgs): void {
    const transaction = args.transaction as object | undefined;
    const evicted = transaction && this.evictedIn.get(transaction);
    if (!transaction || !evicted) return;
    this.evictedIn.delete(transaction);
    for (const id of evicted.users) this.invalidateUser(id);
    for (const id of evicted.sessions) this.invalidateSession(id);
  }

  afterTransactionRollback(args: TransactionEventArgs): void {
    const transaction = args.transaction as object | undefined;
    if (transaction) this.evictedIn.delete(transaction);
  }

  private atCommit(em: EntityManager | undefined, kind: 'users' | 'sessions', id: string): void {
    const transaction = em?.getTransactionContext<object>();
    if (!transaction) return;
    let evicted = this.evictedIn.get(transaction);
    if (!evicted)
      this.evictedIn.set(transaction, (evicted = { users: new Set(), sessions: new Set() }));
    evicted[kind].add(id);
  }

  private evictSession(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    this.byToken.delete(entry.tokenHash);
    const sessions = this.byUser.get(entry.userId);
    sessions?.delete(id);
    if (sessions?.size === 0) this.byUser.delete(entry.userId);
  }

  private forgetAll(): void {
    this.generation += 1;
    this.entries.clear();
    this.byToken.clear();
    this.byUser.clear();
  }

  private onNotification(payload: string | undefined): void {
    if (!payload || payload === '*') return this.forgetAll();
    const id = payload.slice(2);
    if (payload.startsWith('u:')) this.invalidateUser(id);
    else this.invalidateSession(id);
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.orm.config.get('clientUrl'),
      application_name: 'identity-link session cache',
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      query_timeout: 5000,
    });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === AUTH_CHANNEL) this.onNotification(message.payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    let sentAt: number;
    try {
      await client.connect();
      sentAt = Date.now();
      await client.query(`listen ${AUTH_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.client !== client) return;
    // Whatever changed while nobody listened is unknown: start empty.
    this.forgetAll();
    this.confirmedAt = sentAt;
    this.heartbeatInFlight = false;
    this.late = false;
    this.listening = true;
    this.logger.log('session cache on: listening for session and user changes');
    this.timer = setInterval(() => this.heartbeat(client), HEARTBEAT_INTERVAL_MS).unref();
  }

  /** One heartbeat at a time; one that never comes back ends the connection (query_timeout). */
  private heartbeat(client: pg.Client): void {
    if (!this.fresh && !this.late) {
      this.late = true;
      this.logger.warn('session cache paused: the LISTEN connection is late with its heartbeat');
    }
    if (this.heartbeatInFlight) return;
    this.heartbeatInFlight = true;
    const sentAt = Date.now();
    client.query('select 1').then(
      () => {
        this.heartbeatInFlight = false;
        if (this.client !== client) return;
        this.confirmedAt = Math.max(this.confirmedAt, sentAt);
        if (this.late && this.fresh) {
          this.late = false;
          this.logger.log('session cache resumed: the LISTEN connection caught up');
        }
      },
      (error: unknown) => {
        this.heartbeatInFlight = false;
        this.lost(client, error);
      },
    );
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    if (this.listening)
      this.logger.warn(
        `session cache off until the database is back: ${error instanceof Error ? error.message : String(error)}`,
      );
    this.down();
    if (!this.stopped)
      this.timer = setTimeout(() => void this.listen(), RECONNECT_DELAY_MS).unref();
  }

  private down(): void {
    this.listening = false;
    this.forgetAll();
    clearInterval(this.timer);
    const client = this.client;
    this.client = undefined;
    client?.removeAllListeners('notification');
    client?.on('error', () => undefined);
    client?.end().catch(() => undefined);
  }
}
