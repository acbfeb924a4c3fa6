import { type EntityData, EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type Request } from 'express';
import { createHash, randomBytes } from 'node:crypto';
import { aliasedColumns, columnsOf, mappedOnce } from '../database/aliased-select.js';
import { BoundedMap } from '../common/bounded-map.js';
import { type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import {
  FederatedIdentity,
  type IdentityClaimsSnapshot,
} from '../identity/federated-identity.entity.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { type AuthContext, type LinkedIdentityFacts, type SessionFacts } from './auth-context.js';
import { readSessionCookie } from './session-cookie.js';
import { type CachedSession, SessionCache } from './session-cache.js';
import { type AccessTokenClaims, TokenService } from './token.service.js';
import { AuthMethod, Session, sessionActive } from './session.entity.js';
import { SessionEndHooks } from './session-end-hooks.js';

const BEARER = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/;

/** Access tokens remembered as verified; the oldest is forgotten past this. */
const MAX_VERIFIED_TOKENS = 10_000;

/** Idle expiry is pushed forward at most this often, so reads do not each become a write. */
const TOUCH_INTERVAL_MS = 60_000;

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * A platform operator's password session without a second factor (one opened before operators
 * had to enrol) is not accepted anywhere: the login sends the operator to enrol first. A
 * Госуслуги login has ЕСИА's own second factor.
 */
function operatorWithoutSecondFactor(
  facts: Pick<SessionFacts, 'operator' | 'method' | 'secondFactor'>,
): boolean {
  return facts.operator && facts.method === AuthMethod.Password && facts.secondFactor === null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * `select` of a session joined to its user, columns prefixed `s.` and `u.`, and the user's linked
 * identities as one JSON array `i.identities`; by id or token hash.
 */
function sessionLookup(em: EntityManager): Record<'id' | 'tokenHash', string> {
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
  const tokenHash = sessions.properties.tokenHash.fieldNames[0];
  return { id: `${select} where s."id" = ?`, tokenHash: `${select} where s."${tokenHash}" = ?` };
}

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

@Injectable()
export class SessionService {
  private lookup?: Record<'id' | 'tokenHash', string>;
  private readonly verified = new BoundedMap<string, AccessTokenClaims>(MAX_VERIFIED_TOKENS);
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
    private readonly tokens: TokenService,
    private readonly cache: SessionCache,
    private readonly hooks: SessionEndHooks,
  ) {}

  /** A new session with a fresh 256-bit token; the caller flushes (inside its transaction). */
  create(
    em: EntityManager,
    user: User,
    method: AuthMethod,
    client: ClientInfo,
  ): { session: Session; token: string } {
    const created = this.build(user, method, client);
    em.persist(created.session);
    return created;
  }

  /** A new session and its token, not yet persisted: `create` persists it; a login may insert it in SQL. */
  build(user: User, method: AuthMethod, client: ClientInfo): { session: Session; token: string } {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    const session = Session.create({
      tokenHash: hashSessionToken(token),
      user,
      method,
      authenticatedWith: method,
      createdAt: now,
      lastSeenAt: now,
      authenticatedAt: now,
      idleExpiresAt: new Date(now.getTime() + this.config.session.idleTtlMs),
      absoluteExpiresAt: new Date(now.getTime() + this.config.session.absoluteTtlMs),
      ip: client.ip,
      userAgent: client.userAgent,
    });
    return { session, token };
  }

  /** Whether a session may be used now: not ended, not expired, its user active and not reset since. */
  private usable(facts: SessionFacts, now: number): boolean {
    return (
      sessionActive(facts, now) &&
      facts.userActive &&
      (facts.sessionsValidAfter === null || facts.createdAt >= facts.sessionsValidAfter) &&
      !operatorWithoutSecondFactor(facts)
    );
  }

  /**
   * A session and its user: from this instance's cache (src/sessions/session-cache.ts), or else in
   * one statement. This runs on every authenticated request, so it skips the ORM's query builder,
   * and the row is turned into entities only when a handler asks for them (`AuthContext`).
   */
  private async load(by: 'id' | 'tokenHash', value: string): Promise<CachedSession | null> {
    const lookup = (this.lookup ??= sessionLookup(this.em));
    const cached = this.cache.get(by, value);
    if (cached) return cached;
    const ticket = this.cache.ticket();
    const rows = await this.em
      .getConnection()
      .execute<Record<string, unknown>[]>(lookup[by], [value]);
    if (rows.length === 0) return null;
    const loaded = this.read(rows[0]);
    this.cache.put(ticket, loaded, {
      id: loaded.facts.sessionId,
      tokenHash: loaded.tokenHash,
      userId: loaded.facts.userId,
    });
    return loaded;
  }

  /** Splits a joined row into the session's and the user's columns, and reads the facts once. */
  private read(row: Record<string, unknown>): CachedSession {
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
        secondFactor: (s.secondFactor as string | null | undefined) ?? null,
        operator: u.isPlatformOperator === true,
        identities: linkedIdentities(row['i.identities']),
      }),
    };
  }

  /**
   * The user, or the session (with its user), of a loaded row as a managed entity of `em`. An
   * entity the request has already loaded is kept as it is (with any change not yet flushed), not
   * overwritten by the row.
   */
  private userEntity(em: EntityManager, loaded: CachedSession): User {
    return mappedOnce(em, User, loaded.user);
  }

  private sessionEntity(em: EntityManager, loaded: CachedSession): Session {
    this.userEntity(em, loaded);
    return mappedOnce(em, Session, loaded.session);
  }

  private context(
    loaded: CachedSession,
    via: AuthContext['via'],
    facts = loaded.facts,
  ): AuthContext {
    // The request's own unit of work, taken now: a handler may first touch the entities inside a
    // transaction, whose fork must not own them. Each entity is made on first use: most requests
    // need the user at most.
    const em = this.em.getContext();
    let user: User | undefined;
    let session: Session | undefined;
    const makeUser = () => (user ??= this.userEntity(em, loaded));
    const makeSession = () => (session ??= this.sessionEntity(em, loaded));
    return {
      facts,
      via,
      get user() {
        return makeUser();
      },
      get session() {
        return makeSession();
      },
    };
  }

  /** The live session behind a cookie token, its idle expiry extended; null when none. */
  private async byToken(token: string): Promise<AuthContext | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const loaded = await this.load('tokenHash', hashSessionToken(token));
    const now = Date.now();
    if (!loaded || !this.usable(loaded.facts, now)) return null;
    return this.context(loaded, 'cookie', await this.touched(loaded, now));
  }

  /** The person is active in the session: its idle expiry extended (at most once a minute). */
  private async touched(loaded: CachedSession, now: number): Promise<SessionFacts> {
    if (now - loaded.facts.lastSeenAt.getTime() <= TOUCH_INTERVAL_MS) return loaded.facts;
    const session = this.sessionEntity(this.em.getContext(), loaded);
    session.lastSeenAt = new Date(now);
    session.idleExpiresAt = new Date(
      Math.min(now + this.config.session.idleTtlMs, session.absoluteExpiresAt.getTime()),
    );
    await this.em.flush();
    return Object.freeze({
      ...loaded.facts,
      lastSeenAt: session.lastSeenAt,
      idleExpiresAt: session.idleExpiresAt,
    });
  }

  /**
   * Whether the session is live and the user's: an OpenID Provider token bound to it is usable
   * only then. With `activity`, the use counts as the person's, as a request with the cookie does
   * (a refresh by an application the person is working in extends the idle expiry).
   */
  async liveFor(sessionId: string, userId: string, activity = false): Promise<boolean> {
    const loaded = await this.byId(sessionId);
    if (!loaded || loaded.facts.userId !== userId) return false;
    if (activity) await this.touched(loaded, Date.now());
    return true;
  }

  /**
   * Who is calling: a bearer access token whose session is live, or else the session cookie.
   * A malformed or refused bearer token is not replaced by the cookie: the answer is null.
   */
  async authenticate(request: Request): Promise<AuthContext | null> {
    const authorization = request.get('authorization');
    if (authorization !== undefined) {
      const match = BEARER.exec(authorization);
      if (!match) return null;
      const claims = await this.verifiedClaims(match[1]);
      const loaded = claims && (await this.byId(claims.sid));
      if (!claims || !loaded || loaded.facts.userId !== claims.sub) return null;
      return this.context(loaded, 'bearer');
    }
    const token = readSessionCookie(request, this.config);
    return token ? this.byToken(token) : null;
  }

  /**
   * An access token's claims. Verifying the ES256 signature was a tenth of a bearer request's CPU,
   * and the same string always verifies the same way, so a token this instance has verified is
   * remembered until it expires; only tokens that passed are kept, so junk cannot fill the map.
   */
  private async verifiedClaims(token: string): Promise<AccessTokenClaims | null> {
    const known = this.verified.get(token);
    if (known) {
      if ((known.exp ?? 0) * 1000 > Date.now()) return known;
      this.verified.delete(token);
      return null;
    }
    const claims = await this.tokens.verify(token).catch(() => null);
    if (claims) this.verified.set(token, claims);
    return claims;
  }

  /**
   * The caller as the browser's session cookie proves it (its idle expiry extended), if any; a
   * bearer token is not looked at. Pages are reached this way only.
   */
  async fromCookieAuth(request: Request): Promise<AuthContext | null> {
    const token = readSessionCookie(request, this.config);
    return token ? this.byToken(token) : null;
  }

  /** The live session of the browser's session cookie (its idle expiry extended), if any. */
  async fromCookie(request: Request): Promise<Session | null> {
    return (await this.fromCookieAuth(request))?.session ?? null;
  }

  /** The live session an access token names; access tokens die with their session. */
  private async byId(sessionId: string): Promise<CachedSession | null> {
    if (!UUID.test(sessionId)) return null;
    const loaded = await this.load('id', sessionId);
    return loaded && this.usable(loaded.facts, Date.now()) ? loaded : null;
  }

  revoke(session: Session, reason: string): void {
    if (session.revokedAt === null) {
      session.revokedAt = new Date();
      session.revokedReason = reason;
    }
  }

  /** Ends every live session of the user except `keepId`; returns how many ended. */
  async revokeOthers(
    em: EntityManager,
    user: User,
    keepId: string | null,
    reason: string,
  ): Promise<number> {
    const ended = await em.nativeUpdate(
      Session,
      { user, revokedAt: null, ...(keepId && { id: { $ne: keepId } }) },
      { revokedAt: new Date(), revokedReason: reason },
    );
    this.cache.invalidateUser(user.id, em);
    if (ended > 0) await this.hooks.ended(em, { userId: user.id });
    return ended;
  }
}
