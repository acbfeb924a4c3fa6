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
import { type SessionFacts } from './auth-context.js';
import { ListenerHealth } from '../common/listener-health.js';
import { AppConfig } from '../config/app-config.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { User } from '../identity/user.entity.js';
import { AuthChangeListener } from './auth-change-listener.js';
import { Session } from './session.entity.js';

/** Enough for every session active within the TTL on one instance of a region's service. */
const MAX_ENTRIES = 50_000;

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
 * a millisecond on a healthy connection), and never longer than `HEARTBEAT_FRESH_MS` (auth-change-listener.ts) when the
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
  private readonly listener: AuthChangeListener;

  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
  ) {
    super();
    this.listener = new AuthChangeListener(
      () => this.orm.config.get('clientUrl'),
      { changed: (payload) => this.onNotification(payload), reset: () => this.forgetAll() },
      this.logger,
    );
  }

  private get enabled(): boolean {
    return this.config.session.cacheTtlMs > 0;
  }

  onModuleInit(): void {
    if (this.enabled) this.orm.em.getEventManager().registerSubscriber(this);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.enabled) await this.listener.listen();
  }

  onApplicationShutdown(): void {
    this.listener.stop();
  }

  /** Whether the LISTEN connection is up (for tests and the health report). */
  get active(): boolean {
    return this.enabled && this.listener.up;
  }

  get listenerState(): 'off' | 'listening' | 'down' {
    if (!this.enabled) return 'off';
    return this.listener.up ? 'listening' : 'down';
  }

  /** Whether memory may answer now (AuthChangeListener.fresh). */
  private get fresh(): boolean {
    return this.listener.fresh;
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
}
