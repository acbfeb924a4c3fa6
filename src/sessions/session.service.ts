import { EntityManager, RequestContext, TransactionContext } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type HttpRequest, headerOf } from '../common/http.js';
import { BoundedMap } from '../common/bounded-map.js';
import { type ClientInfo } from '../common/client-info.js';
import { newSecret, SECRET_PATTERN, secretDigest } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { type User } from '../identity/user.entity.js';
import { type AuthContext, type SessionFacts } from './auth-context.js';
import { readSessionCookie } from './session-cookie.js';
import { type CachedSession, SessionCache } from './session-cache.js';
import { endedColumns, type SessionEndReason } from './session-ending.js';
import { SessionStore } from './session-store.js';
import { type AccessTokenClaims, TokenService } from './token.service.js';
import { type AuthMethod, Session } from './session.entity.js';
import { SessionEndHooks } from './session-end-hooks.js';
import { sessionUsable } from './session-rules.js';

const BEARER = /^Bearer ([A-Za-z0-9_.-]{1,4096})$/;

/** Access tokens remembered as verified; the oldest is forgotten past this. */
const MAX_VERIFIED_TOKENS = 10_000;

/** Idle expiry is pushed forward at most this often, so reads do not each become a write. */
const TOUCH_INTERVAL_MS = 60_000;

/** Whether the session's idle expiry was pushed forward less than TOUCH_INTERVAL_MS ago. */
const recentlySeen = (loaded: CachedSession, now: number): boolean =>
  now - loaded.facts.lastSeenAt.getTime() <= TOUCH_INTERVAL_MS;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Who is calling, decided: the session behind a cookie or an access token, judged by the rules
 * (`sessionUsable`); where it is found is SessionStore's part. Also makes new sessions.
 */
@Injectable()
export class SessionService {
  private readonly verified = new BoundedMap<string, AccessTokenClaims>(MAX_VERIFIED_TOKENS);
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
    private readonly tokens: TokenService,
    private readonly store: SessionStore,
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
    const { secret: token, digest: tokenHash } = newSecret();
    const now = new Date();
    const session = Session.create({
      tokenHash,
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

  private context(
    loaded: CachedSession,
    via: AuthContext['via'],
    facts = loaded.facts,
  ): AuthContext {
    // The request's own unit of work, chosen now: a handler may first touch the entities inside a
    // transaction, whose fork must not own them. Each entity is made on first use, and the unit
    // of work with the first: most requests need the user at most, many neither.
    const em = this.requestEntityManager();
    let user: User | undefined;
    let session: Session | undefined;
    const makeUser = () => (user ??= this.store.userEntity(em(), loaded));
    const makeSession = () => (session ??= this.store.sessionEntity(em(), loaded));
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

  /**
   * The EntityManager `em.getContext()` gives now: inside a request and outside a transaction,
   * its request context's, which is forked on first use (src/database/request-context.ts), so it
   * is looked up there only when called; anywhere else, taken at once.
   */
  private requestEntityManager(): () => EntityManager {
    const name = this.em.name;
    const request = RequestContext.currentRequestContext();
    if (request === undefined || TransactionContext.getEntityManager(name) !== undefined) {
      const em = this.em.getContext();
      return () => em;
    }
    return () => {
      // The request's map forks on first use; it has no EntityManager only while one is being
      // forked, which no handler can observe. Never fall back to another unit of work.
      const em = request.map.get(name) as EntityManager | undefined;
      if (em === undefined) throw new Error(`the request context has no EntityManager "${name}"`);
      return em;
    };
  }

  /** The live session behind a cookie token, its idle expiry extended; null when none. */
  private async byToken(token: string): Promise<AuthContext | null> {
    if (!SECRET_PATTERN.test(token)) return null;
    const loaded = await this.store.load('tokenHash', secretDigest(token));
    const now = Date.now();
    if (!loaded || !sessionUsable(loaded.facts, now)) return null;
    // Nearly every request comes within the minute: no write, and no await for one.
    const facts = recentlySeen(loaded, now) ? loaded.facts : await this.touched(loaded, now);
    return this.context(loaded, 'cookie', facts);
  }

  /** The person is active in the session: its idle expiry extended (at most once a minute). */
  private async touched(loaded: CachedSession, now: number): Promise<SessionFacts> {
    if (recentlySeen(loaded, now)) return loaded.facts;
    const session = this.store.sessionEntity(this.em.getContext(), loaded);
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
  async authenticate(request: HttpRequest): Promise<AuthContext | null> {
    const authorization = headerOf(request, 'authorization');
    if (authorization !== undefined) {
      const match = BEARER.exec(authorization);
      if (!match) return null;
      const claims = await this.verifiedClaims(match[1]);
      const loaded = claims && (await this.byId(claims.sid));
      if (!claims || !loaded || loaded.facts.userId !== claims.sub) return null;
      return this.context(loaded, 'bearer');
    }
    const token = readSessionCookie(request, this.config);
    // Awaited rather than returned: an async function that returns a promise settles a microtask
    // later than one that awaits it (three ticks against two, node 24), on every cookie request.
    return token ? await this.byToken(token) : null;
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
  async fromCookieAuth(request: HttpRequest): Promise<AuthContext | null> {
    const token = readSessionCookie(request, this.config);
    return token ? await this.byToken(token) : null;
  }

  /** The live session of the browser's session cookie (its idle expiry extended), if any. */
  async fromCookie(request: HttpRequest): Promise<Session | null> {
    return (await this.fromCookieAuth(request))?.session ?? null;
  }

  /** The live session an access token names; access tokens die with their session. */
  private async byId(sessionId: string): Promise<CachedSession | null> {
    if (!UUID.test(sessionId)) return null;
    const loaded = await this.store.load('id', sessionId);
    return loaded && sessionUsable(loaded.facts, Date.now()) ? loaded : null;
  }

  /** Ends every live session of the user except `keepId`; returns how many ended. */
  async revokeOthers(
    em: EntityManager,
    user: User,
    keepId: string | null,
    reason: SessionEndReason,
  ): Promise<number> {
    const ended = await em.nativeUpdate(
      Session,
      { user, revokedAt: null, ...(keepId && { id: { $ne: keepId } }) },
      endedColumns(reason),
    );
    this.cache.invalidateUser(user.id, em);
    if (ended > 0) await this.hooks.ended(em, { userId: user.id });
    return ended;
  }
}
