import { EntityManager } from '@mikro-orm/postgresql';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { type ClientInfo } from '../common/client-info.js';
import { aliasedColumns, columnOf, columnsOf, mappedOnce } from '../database/aliased-select.js';
import { PreparedStatement } from '../common/prepared-statement.js';
import { PasswordCredential } from '../identity/password-credential.entity.js';
import { User } from '../identity/user.entity.js';
import { LoginFailure } from './login-failure.entity.js';
import { type LoginResult } from './login-outcome.js';
import { AuthMethod } from './session.entity.js';
import { SessionService } from './session.service.js';
import { ACCESS_TOKEN_CLAIMS, type AccessTokenClaimsSource } from './token-claims.js';

/**
 * `select` of a password row (`c.`) joined to its user (`u.`) by login, with the end of the lock
 * of one (account, address) pair as `f.locked_until` (epoch milliseconds), and the access token's
 * extra claims as `x.claims` when a feature contributes them; parameters: the address, the login.
 */
function loginLookup(em: EntityManager, claims?: AccessTokenClaimsSource): string {
  const metadata = em.getMetadata();
  const credentials = metadata.get(PasswordCredential);
  const users = metadata.get(User);
  const failures = metadata.get(LoginFailure);
  return `select ${[...aliasedColumns(credentials, 'c'), ...aliasedColumns(users, 'u')].join(', ')},
      (select (extract(epoch from f.${columnOf(failures, 'lockedUntil')}) * 1000)::float8
        from "${failures.tableName}" f
        where f.${columnOf(failures, 'credential')} = c."id" and f.${columnOf(failures, 'address')} = ?)
        as "f.locked_until",
      exists (select 1 from "mfa_credentials" m
        where m."user_id" = u."id" and m."confirmed_at" is not null)
        or exists (select 1 from "passkeys" p where p."user_id" = u."id") as "m.enrolled"
      ${claims ? `, ${claims.claimsSql('u."id"')} as "x.claims"` : ''}
    from "${credentials.tableName}" c join "${users.tableName}" u on u."id" = c.${columnOf(credentials, 'user')}
    where u.${columnOf(users, 'login')} = ?`;
}

/**
 * The common login's one statement (see `openPasswordSession`); parameters in the order its
 * caller lists them.
 */
const OPEN_SESSION_SQL = `with credential as (
     select id from password_credentials
     where id = ? and hash = ? and (locked_until is null or locked_until <= ?::timestamptz)
       and last_failure_at is not distinct from ?::timestamptz
       and not exists (select 1 from login_failures
         where credential_id = ? and address = ? and locked_until > ?::timestamptz)
     for update
   ), cleared as (
     update password_credentials
     set failure_count = 0, last_failure_at = null, locked_until = null
     where id in (select id from credential)
       and (failure_count <> 0 or last_failure_at is not null or locked_until is not null)
   ), forgotten as (
     delete from login_failures
     where credential_id in (select id from credential) and address = ?
   ), opened as (
     insert into sessions (id, token_hash, user_id, method, authenticated_with, created_at,
       last_seen_at, authenticated_at, idle_expires_at, absolute_expires_at, ip, user_agent)
     select ?::uuid, ?, ?::uuid, ?::auth_method, ?::auth_method, ?::timestamptz,
       ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?, ? from credential
     returning id
   )
   insert into audit_events (id, type, actor_user_id, target_user_id, ip, user_agent,
     request_id, details, created_at)
   select ?::uuid, 'login.succeeded', ?::uuid, ?::uuid, ?, ?, ?, ?::jsonb, ?::timestamptz
   from opened
   returning id`;

const OPEN_PASSWORD_SESSION = new PreparedStatement('login_open_session', () => OPEN_SESSION_SQL);

/** The password login's own SQL: a login is few round trips, each written out here. */
@Injectable()
export class LoginQueries {
  private readonly lookup: PreparedStatement;
  constructor(
    private readonly em: EntityManager,
    private readonly sessions: SessionService,
    @Optional()
    @Inject(ACCESS_TOKEN_CLAIMS)
    private readonly claimsSource?: AccessTokenClaimsSource,
  ) {
    this.lookup = new PreparedStatement('login_lookup', (em) => loginLookup(em, claimsSource));
  }

  /**
   * The account's password row with its user, and when this address's lock on it ends (if it has
   * one), in one statement: through the ORM's query builder this lookup and the lock's were two
   * round trips and most of a login's JavaScript. Entities this request already holds are kept.
   * The access token's extra claims come along, so the token of the common login needs no
   * statement of its own. They are read before argon2 runs: a membership archived while the
   * password is verified can still be in this token, as in one issued just before the archive.
   */
  async findForLogin(
    login: string,
    address: string,
  ): Promise<{
    credential: PasswordCredential;
    pairLockedUntil: Date | null;
    mfaEnrolled: boolean;
    claims: Record<string, unknown> | undefined;
  } | null> {
    const [row] = await this.lookup.rows<Record<string, unknown>>(this.em, [address, login]);
    if (!row) return null;
    const em = this.em.getContext();
    // The user first: the credential's reference to it then resolves to this entity.
    mappedOnce(em, User, columnsOf(row, 'u'));
    const credential = mappedOnce(em, PasswordCredential, columnsOf(row, 'c'));
    // Milliseconds since the epoch (the driver leaves timestamps it does not map as text).
    const pairLockedUntil = row['f.locked_until'];
    return {
      credential,
      mfaEnrolled: row['m.enrolled'] === true,
      claims: this.claimsSource?.claimsOf(row['x.claims']),
      pairLockedUntil:
        pairLockedUntil === null || pairLockedUntil === undefined
          ? null
          : new Date(Number(pairLockedUntil)),
    };
  }

  /**
   * The common login in one statement (a login is otherwise eight round trips, and each one costs
   * the database and the event loop more than its SQL): the same writes as the transaction
   * below, made only if the password row still holds the hash that was verified and no failure
   * was recorded since it was read (every failure, of any address, writes `last_failure_at` on
   * that row under its lock, so a lock that began while argon2 ran shows there) — the row is
   * locked (`for update`) and re-read by PostgreSQL if another transaction changed it first.
   * Anything else returns null and takes the transaction path, which decides it (another
   * verification after a re-hash, a refusal after a change or a lock).
   */
  async openPasswordSession(
    credential: PasswordCredential,
    verifiedHash: string,
    user: User,
    client: ClientInfo,
    address: string,
  ): Promise<LoginResult | null> {
    const { session, token } = this.sessions.build(user, AuthMethod.Password, client);
    const now = session.createdAt;
    const details = { method: AuthMethod.Password, sessionId: session.id };
    const rows = await OPEN_PASSWORD_SESSION.rows<{ id: string }>(this.em, [
      credential.id,
      verifiedHash,
      now,
      credential.lastFailureAt,
      credential.id,
      address,
      now,
      address,
      session.id,
      session.tokenHash,
      user.id,
      session.method,
      session.authenticatedWith,
      session.createdAt,
      session.lastSeenAt,
      session.authenticatedAt,
      session.idleExpiresAt,
      session.absoluteExpiresAt,
      session.ip,
      session.userAgent,
      randomUUID(),
      user.id,
      user.id,
      client.ip,
      client.userAgent,
      client.requestId,
      JSON.stringify(details),
      now,
    ]);
    if (rows.length === 0) return null;
    // What the statement wrote, known to this request's EntityManager as it is in the database.
    return { session: this.em.merge(session), token };
  }
}
