import { type AuthenticatedOptions } from '../common/auth-decorators.js';
import { type SessionFacts } from './auth-context.js';
import { type FederatedIdentity } from '../identity/federated-identity.entity.js';
import { type User } from '../identity/user.entity.js';
import { AuthMethod, type Session, sessionActive } from './session.entity.js';

/**
 * The rules a session is judged by, as pure functions over its fields and the time: the services
 * load and lock, these decide.
 */

/**
 * Actions that could hand the account to someone else (linking Госуслуги, replacing or removing a
 * verified e-mail, a first password, accepting an invitation into the account) or sign its owner
 * out elsewhere need the password (or a Госуслуги login) entered this recently in the session;
 * the verified e-mail, only a login that counts for it (emailChangeRefusal).
 */
export const RECENT_AUTHENTICATION_MS = 10 * 60_000;

/** Whether the session's password or Госуслуги login was entered within RECENT_AUTHENTICATION_MS. */
export function recentlyAuthenticated(
  session: Pick<Session, 'authenticatedAt'>,
  now: number = Date.now(),
): boolean {
  return now - session.authenticatedAt.getTime() <= RECENT_AUTHENTICATION_MS;
}

/**
 * Replacing or removing the verified e-mail (or adding an address meant to replace it) moves
 * password recovery to another mailbox, so it needs a recent authentication the account's owner
 * made: the password, or a Госуслуги login through an identity linked no earlier than the address
 * was verified. A Госуслуги profile linked before the owner proved the mailbox may be someone
 * else's (an account pre-registered with the owner's address), and it must not take the address
 * back. Every identity linked by the time of the login could be the one it went through, so all
 * of them must be that recent; the link itself (at the same instant) counts, as for an accepted
 * invitation. Null when allowed, else why not: no recent authentication at all, or not one that
 * counts (then only the password does).
 */
export function emailChangeRefusal(
  session: Pick<Session, 'authenticatedAt' | 'authenticatedWith'>,
  account: Pick<User, 'email' | 'emailVerifiedAt'>,
  identities: readonly Pick<FederatedIdentity, 'linkedAt'>[],
  now: number = Date.now(),
): 'reauthentication_required' | 'password_required' | null {
  if (!recentlyAuthenticated(session, now)) return 'reauthentication_required';
  if (session.authenticatedWith === AuthMethod.Password || account.email === null) return null;
  // A verified address of unknown age is treated as older than every link.
  const verifiedAt = account.emailVerifiedAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const loggedInAt = session.authenticatedAt.getTime();
  const possible = identities.filter((identity) => identity.linkedAt.getTime() <= loggedInAt);
  const owners = possible.every((identity) => identity.linkedAt.getTime() >= verifiedAt);
  return possible.length > 0 && owners ? null : 'password_required';
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

/**
 * Whether a session may be used now: not ended, not expired, its user active and not reset since
 * (`sessionsValidAfter`), and not an operator's password session without a second factor.
 */
export function sessionUsable(
  facts: Pick<
    SessionFacts,
    | 'revokedAt'
    | 'idleExpiresAt'
    | 'absoluteExpiresAt'
    | 'userActive'
    | 'sessionsValidAfter'
    | 'createdAt'
    | 'operator'
    | 'method'
    | 'secondFactor'
  >,
  now: number = Date.now(),
): boolean {
  return (
    sessionActive(facts, now) &&
    facts.userActive &&
    (facts.sessionsValidAfter === null || facts.createdAt >= facts.sessionsValidAfter) &&
    !operatorWithoutSecondFactor(facts)
  );
}

/**
 * «Cookie only»: what only the browser may do (replace or end sessions, list them, mint tokens,
 * manage its second factors and passkeys) a route declares with `@Authenticated({ via: 'cookie' })`,
 * and an access token is refused there. Access tokens travel to downstream applications, and none
 * of them needs the person's devices or the power to sign the person out. The guard asks this.
 */
export function browserSessionRequired(
  route: AuthenticatedOptions | undefined,
  via: 'cookie' | 'bearer',
): boolean {
  return route?.via === 'cookie' && via !== 'cookie';
}
