import { type Session } from './session.entity.js';

/**
 * The rules a session is judged by, as pure functions over its fields and the time: the services
 * load and lock, these decide.
 */

/**
 * Actions that could hand the account to someone else (linking Госуслуги, replacing or removing a
 * verified e-mail, a first password, accepting an invitation into the account) or sign its owner
 * out elsewhere need the password (or a Госуслуги login) entered this recently in the session.
 */
export const RECENT_AUTHENTICATION_MS = 10 * 60_000;

/** Whether the session's password or Госуслуги login was entered within RECENT_AUTHENTICATION_MS. */
export function recentlyAuthenticated(
  session: Pick<Session, 'authenticatedAt'>,
  now: number = Date.now(),
): boolean {
  return now - session.authenticatedAt.getTime() <= RECENT_AUTHENTICATION_MS;
}
