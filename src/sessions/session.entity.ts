import { randomUUID } from 'node:crypto';
import { type Opt, type Rel, type RequiredEntityData } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { User } from '../identity/user.entity.js';

export enum AuthMethod {
  Password = 'pwd',
  Gosuslugi = 'gosuslugi',
}

/** Not ended and not expired: one rule for a managed session and for the facts the cache keeps. */
export function sessionActive(
  session: Readonly<Pick<Session, 'revokedAt' | 'idleExpiresAt' | 'absoluteExpiresAt'>>,
  now: number,
): boolean {
  return (
    session.revokedAt === null &&
    now < session.idleExpiresAt.getTime() &&
    now < session.absoluteExpiresAt.getTime()
  );
}

/**
 * A browser session. The cookie carries a random 256-bit token; only its SHA-256 lives here, so
 * a database read does not hand out live sessions.
 */
@Entity({ tableName: 'sessions' })
@Index({ name: 'sessions_user_idx', properties: ['user'] })
export class Session {
  /**
   * A new session, not yet persisted: the caller persists it or inserts it in SQL, so it is not
   * `em.create` (which persists on the request's EntityManager). Every column without a default
   * must be given.
   */
  static create(data: Omit<RequiredEntityData<Session>, 'user'> & { user: Rel<User> }): Session {
    return Object.assign(new Session(), data);
  }

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'string', length: 64, unique: 'sessions_token_hash_unique', hidden: true })
  tokenHash!: string;

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Enum({ items: () => AuthMethod, nativeEnumName: 'auth_method' })
  method!: AuthMethod;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  lastSeenAt: Date & Opt = new Date();

  /** When the person last proved who they are in this session (login or re-entering the password). */
  @Property({ type: 'datetime', columnType: 'timestamptz' })
  authenticatedAt: Date & Opt = new Date();

  /**
   * How `authenticatedAt` was proved: the login's method, or the password when it was re-entered.
   * A Госуслуги login does not prove everything a password does (see session-rules).
   */
  @Enum({ items: () => AuthMethod, nativeEnumName: 'auth_method' })
  authenticatedWith!: AuthMethod;

  /**
   * The second factor proved with `authenticatedAt` (`otp`: a TOTP or recovery code), or null
   * when only the first was. Goes into `amr` beside the method.
   */
  @Property({ type: 'string', length: 16, nullable: true })
  secondFactor: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  idleExpiresAt!: Date;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  absoluteExpiresAt!: Date;

  /**
   * When a Госуслуги round trip (a link) last came back to this session's browser: the provider
   * then holds a session of its own there, and «Выйти» ends it too.
   */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  providerSignedInAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  revokedAt: Date | null = null;

  @Property({ type: 'string', length: 32, nullable: true })
  revokedReason: string | null = null;

  @Property({ type: 'string', length: 64, nullable: true })
  ip: string | null = null;

  @Property({ type: 'string', length: 512, nullable: true })
  userAgent: string | null = null;

  isActive(now: Date): boolean {
    return sessionActive(this, now.getTime());
  }
}

/**
 * The browser holds a Госуслуги session if the session it replaces was opened through Госуслуги
 * or saw a Госуслуги round trip: the mark goes on to the new session, so «Выйти» still reaches it.
 */
export function providerMarkOf(previous: Session | null): Date | null {
  if (!previous) return null;
  return previous.method === AuthMethod.Gosuslugi
    ? (previous.providerSignedInAt ?? previous.createdAt)
    : previous.providerSignedInAt;
}
