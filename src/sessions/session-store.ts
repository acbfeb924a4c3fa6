import { type EntityData, EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { aliasedColumns, columnsOf, mappedOnce } from '../database/aliased-select.js';
import { PreparedStatement } from '../common/prepared-statement.js';
import { type LinkedIdentityFacts } from './auth-context.js';
import {
  FederatedIdentity,
  type IdentityClaimsSnapshot,
} from '../identity/federated-identity.entity.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { type CachedSession, SessionCache } from './session-cache.js';
import { type AuthMethod, Session } from './session.entity.js';

/**
 * `select` of a session joined to its user, columns prefixed `s.` and `u.`, and the user's linked
 * identities as one JSON array `i.identities`; by id or token hash.
 */
function sessionLookup(em: EntityManager, by: 'id' | 'tokenHash'): string {
  const metadata = em.getMetadata();
  const sessions = metadata.get(Session);
  const users = metadata.get(User);
  const identities = metadata.get(FederatedIdentity);
  const field = (name: 'provider' | 'linkedAt' | 'lastLoginAt' | 'claims' | 'user') =>
    `i."${identities.properties[name].fieldNames[0]}"`;
  const linked = `(select coalesce(json_agg(json_build_object(
      'provider', ${field('provider')}, 'linkedAt', ${field('linkedAt')},
      'lastLoginAt', ${field('lastLoginAt')}, 'claims', ${field('claims')}) order by ${field('linkedAt')}), '[]'::json)
    from "${identities.tableName}" i where ${field('user')} = u."id") as "i.identities"`;
  const select = `select ${[...aliasedColumns(sessions, 's'), ...aliasedColumns(users, 'u'), linked].join(', ')}
    from "${sessions.tableName}" s join "${users.tableName}" u on u."id" = s."${sessions.properties.user.fieldNames[0]}"`;
  return `${select} where s."${sessions.properties[by].fieldNames[0]}" = ?`;
}

const LOOKUP = {
  id: new PreparedStatement('session_by_id', (em) => sessionLookup(em, 'id')),
  tokenHash: new PreparedStatement('session_by_token_hash', (em) => sessionLookup(em, 'tokenHash')),
};

/** The `i.identities` JSON of the lookup, frozen: cached sessions share it. */
function linkedIdentities(cell: unknown): readonly LinkedIdentityFacts[] {
  const list = (typeof cell === 'string' ? JSON.parse(cell) : cell) as {
    provider: string;
    linkedAt: string;
    lastLoginAt: string | null;
    claims: IdentityClaimsSnapshot | null;
  }[];
  return Object.freeze(
    list.map((identity) =>
      Object.freeze({
        provider: identity.provider,
        linkedAt: new Date(identity.linkedAt),
        lastLoginAt: identity.lastLoginAt === null ? null : new Date(identity.lastLoginAt),
        claims: Object.freeze({ ...identity.claims }),
      }),
    ),
  );
}

/**
 * Where SessionService finds a session and its user: the per-instance cache, or one SQL
 * statement; and the row made into entities when a handler asks for them. It decides nothing.
 */
@Injectable()
export class SessionStore {
  /** Reads of the database in flight, by key, with the cache generation each began under. */
  private readonly reading = new Map<
    string,
    { ticket: number; row: Promise<CachedSession | null> }
  >();

  constructor(
    private readonly em: EntityManager,
    private readonly cache: SessionCache,
  ) {}

  /**
   * A session and its user: from this instance's cache (src/sessions/session-cache.ts), or else in
   * one statement. This runs on every authenticated request, so it skips the ORM's query builder,
   * and the row is turned into entities only when a handler asks for them (`AuthContext`).
   *
   * Requests that miss the cache for the same session at the same time share one read: a client
   * whose session has just been made, or has just left the cache, sent each of its requests to
   * the database (45 reads of one session within 300 ms at the start of a load). A request joins
   * a read only under the generation that read began in: after an invalidation, the row it will
   * bring may be older than the change, and the request reads for itself. While the cache is not
   * in use (ticket -1), every request reads for itself, as without a cache.
   */
  load(by: 'id' | 'tokenHash', value: string): Promise<CachedSession | null> {
    const cached = this.cache.get(by, value);
    if (cached) return Promise.resolve(cached);
    const ticket = this.cache.ticket();
    if (ticket < 0) return this.read(by, value, ticket);
    const key = `${by}:${value}`;
    const pending = this.reading.get(key);
    if (pending?.ticket === ticket) return pending.row;
    const row = this.read(by, value, ticket);
    this.reading.set(key, { ticket, row });
    const done = () => {
      if (this.reading.get(key)?.row === row) this.reading.delete(key);
    };
    row.then(done, done);
    return row;
  }

  /** One read of the database, cached under `ticket` when nothing was invalidated meanwhile. */
  private async read(
    by: 'id' | 'tokenHash',
    value: string,
    ticket: number,
  ): Promise<CachedSession | null> {
    const rows = await LOOKUP[by].rows<Record<string, unknown>>(this.em, [value]);
    if (rows.length === 0) return null;
    const loaded = this.facts(rows[0]);
    this.cache.put(ticket, loaded, {
      id: loaded.facts.sessionId,
      tokenHash: loaded.tokenHash,
      userId: loaded.facts.userId,
    });
    return loaded;
  }

  /** Splits a joined row into the session's and the user's columns, and reads the facts once. */
  private facts(row: Record<string, unknown>): CachedSession {
    const session = columnsOf(row, 's');
    const user = columnsOf(row, 'u');
    const metadata = this.em.getMetadata();
    const driver = this.em.getDriver();
    const s = driver.mapResult(session, metadata.get(Session)) as EntityData<Session>;
    const u = driver.mapResult(user, metadata.get(User)) as EntityData<User>;
    const date = (value: unknown): Date => {
      if (value instanceof Date) return value;
      throw new Error(`session row: expected a date, got ${typeof value}`);
    };
    const optionalDate = (value: unknown): Date | null =>
      value === null || value === undefined ? null : date(value);
    const optionalText = (value: unknown): string | null =>
      (value as string | null | undefined) ?? null;
    return {
      session,
      user,
      tokenHash: s.tokenHash as string,
      facts: Object.freeze({
        sessionId: s.id as string,
        userId: u.id as string,
        login: u.login as string,
        method: s.method as AuthMethod,
        createdAt: date(s.createdAt),
        lastSeenAt: date(s.lastSeenAt),
        authenticatedAt: date(s.authenticatedAt),
        idleExpiresAt: date(s.idleExpiresAt),
        absoluteExpiresAt: date(s.absoluteExpiresAt),
        revokedAt: optionalDate(s.revokedAt),
        userActive: u.status === UserStatus.Active,
        sessionsValidAfter: optionalDate(u.sessionsValidAfter),
        secondFactor: optionalText(s.secondFactor),
        operator: u.isPlatformOperator === true,
        profile: Object.freeze({
          id: u.id as string,
          login: u.login as string,
          email: optionalText(u.email),
          pendingEmail: optionalText(u.pendingEmail),
          phone: optionalText(u.phone),
          lastName: optionalText(u.lastName),
          firstName: optionalText(u.firstName),
          middleName: optionalText(u.middleName),
          status: u.status as UserStatus,
        }),
        identities: linkedIdentities(row['i.identities']),
      }),
    };
  }

  /**
   * The user, or the session (with its user), of a loaded row as a managed entity of `em`. An
   * entity the request has already loaded is kept as it is (with any change not yet flushed), not
   * overwritten by the row.
   */
  userEntity(em: EntityManager, loaded: CachedSession): User {
    return mappedOnce(em, User, loaded.user);
  }

  sessionEntity(em: EntityManager, loaded: CachedSession): Session {
    this.userEntity(em, loaded);
    return mappedOnce(em, Session, loaded.session);
  }
}
