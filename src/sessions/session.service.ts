import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type Request } from 'express';
import { createHash, randomBytes } from 'node:crypto';
import { type ClientInfo } from '../common/client-info.js';
import { AppConfig } from '../config/app-config.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { type AuthContext } from '../common/auth-decorators.js';
import { readSessionCookie } from './session-cookie.js';
import { SessionCache } from './session-cache.js';
import { type AccessTokenClaims, TokenService } from './token.service.js';
import { type AuthMethod, Session } from './session.entity.js';

const BEARER = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/;

/** Access tokens remembered as verified; the oldest is forgotten past this. */
const MAX_VERIFIED_TOKENS = 10_000;

/** Idle expiry is pushed forward at most this often, so reads do not each become a write. */
const TOUCH_INTERVAL_MS = 60_000;

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface SessionLookup {
  sql: Record<'id' | 'tokenHash', string>;
  /** Result columns of the row's keys, for the cache. */
  columns: Record<'id' | 'tokenHash' | 'userId', string>;
}

/** `select` of a session joined to its user, columns prefixed `s.` and `u.`; by id or token hash. */
function sessionLookup(em: EntityManager): SessionLookup {
  const metadata = em.getMetadata();
  const sessions = metadata.get(Session);
  const users = metadata.get(User);
  const columns = (alias: string, meta: typeof sessions | typeof users) =>
    meta.props
      .flatMap((prop) => prop.fieldNames ?? [])
      .map((field) => `${alias}."${field}" as "${alias}.${field}"`);
  const select = `select ${[...columns('s', sessions), ...columns('u', users)].join(', ')}
    from "${sessions.tableName}" s join "${users.tableName}" u on u."id" = s."${sessions.properties.user.fieldNames[0]}"`;
  const tokenHash = sessions.properties.tokenHash.fieldNames[0];
  return {
    sql: { id: `${select} where s."id" = ?`, tokenHash: `${select} where s."${tokenHash}" = ?` },
    columns: { id: 's.id', tokenHash: `s.${tokenHash}`, userId: 'u.id' },
  };
}

@Injectable()
export class SessionService {
  private lookup?: SessionLookup;
  private readonly verified = new Map<string, AccessTokenClaims>();
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
    private readonly tokens: TokenService,
    private readonly cache: SessionCache,
  ) {}

  /** A new session with a fresh 256-bit token; the caller flushes (inside its transaction). */
  create(
    em: EntityManager,
    user: User,
    method: AuthMethod,
    client: ClientInfo,
  ): { session: Session; token: string } {
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    const session = Object.assign(new Session(), {
      tokenHash: hashSessionToken(token),
      user,
      method,
      createdAt: now,
      lastSeenAt: now,
      authenticatedAt: now,
      idleExpiresAt: new Date(now.getTime() + this.config.session.idleTtlMs),
      absoluteExpiresAt: new Date(now.getTime() + this.config.session.absoluteTtlMs),
      ip: client.ip,
      userAgent: client.userAgent,
    });
    em.persist(session);
    return { session, token };
  }

  private usable(session: Session | null, now: Date): session is Session {
    if (!session || !session.isActive(now)) return false;
    const user = session.user;
    if (user.status !== UserStatus.Active) return false;
    return user.sessionsValidAfter === null || session.createdAt >= user.sessionsValidAfter;
  }

  /**
   * A session and its user: from this instance's cache (src/sessions/session-cache.ts), or else in
   * one statement. This runs on every authenticated request, so it skips the ORM's query builder
   * (most of the request's CPU in a profile) and only maps the row into managed entities.
   */
  private async load(by: 'id' | 'tokenHash', value: string): Promise<Session | null> {
    const lookup = (this.lookup ??= sessionLookup(this.em));
    let row = this.cache.get(by, value);
    if (!row) {
      const ticket = this.cache.ticket();
      const rows = await this.em
        .getConnection()
        .execute<Record<string, unknown>[]>(lookup.sql[by], [value]);
      if (rows.length === 0) return null;
      row = rows[0];
      this.cache.put(ticket, row, {
        id: String(row[lookup.columns.id]),
        tokenHash: String(row[lookup.columns.tokenHash]),
        userId: String(row[lookup.columns.userId]),
      });
    }
    const session: Record<string, unknown> = {};
    const user: Record<string, unknown> = {};
    for (const [column, cell] of Object.entries(row)) {
      if (column.startsWith('s.')) session[column.slice(2)] = cell;
      else user[column.slice(2)] = cell;
    }
    this.em.map(User, user);
    return this.em.map(Session, session);
  }

  /** The live session behind a cookie token, its idle expiry extended; null when none. */
  async resolveToken(token: string): Promise<Session | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const session = await this.load('tokenHash', hashSessionToken(token));
    const now = new Date();
    if (!this.usable(session, now)) return null;
    if (now.getTime() - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
      session.lastSeenAt = now;
      session.idleExpiresAt = new Date(
        Math.min(
          now.getTime() + this.config.session.idleTtlMs,
          session.absoluteExpiresAt.getTime(),
        ),
      );
      await this.em.flush();
    }
    return session;
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
      const session = claims && (await this.resolveId(claims.sid));
      if (!claims || !session || session.user.id !== claims.sub) return null;
      return { user: session.user, session, via: 'bearer' };
    }
    const session = await this.fromCookie(request);
    return session ? { user: session.user, session, via: 'cookie' } : null;
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
    if (claims) {
      if (this.verified.size >= MAX_VERIFIED_TOKENS)
        this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, claims);
    }
    return claims;
  }

  /** The live session of the browser's session cookie, if any. */
  async fromCookie(request: Request): Promise<Session | null> {
    const token = readSessionCookie(request, this.config);
    return token ? this.resolveToken(token) : null;
  }

  /** The live session an access token names; access tokens die with their session. */
  async resolveId(sessionId: string): Promise<Session | null> {
    if (!UUID.test(sessionId)) return null;
    const session = await this.load('id', sessionId);
    return this.usable(session, new Date()) ? session : null;
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
    this.cache.invalidateUser(user.id);
    return ended;
  }
}
