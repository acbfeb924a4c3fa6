import { type EntityManager } from '@mikro-orm/postgresql';
import { Errors } from '../common/errors.js';
import { lockAccount } from '../identity/account-lock.js';
import { type User } from '../identity/user.entity.js';
import { Session } from './session.entity.js';

/**
 * The account row locked (lockAccount) for a change a session asked for. The session, when there
 * is one, must still be live under the lock: a password reset that ended it has committed first
 * (401 `unauthenticated`).
 */
export async function lockSessionAccount(
  em: EntityManager,
  userId: string,
  session: Session | undefined,
): Promise<User> {
  const user = await lockAccount(em, userId);
  if (session && !(await em.count(Session, { id: session.id, revokedAt: null }))) {
    throw Errors.unauthenticated();
  }
  return user;
}
