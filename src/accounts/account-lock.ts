import { LockMode } from '@mikro-orm/core';
import { type EntityManager } from '@mikro-orm/postgresql';
import { Errors } from '../common/errors.js';
import { User } from '../identity/user.entity.js';
import { Session } from '../sessions/session.entity.js';

/**
 * The account row, fresh and locked for the rest of the transaction. Every change to an account
 * and its links (profile, verification, recovery) takes this lock first, so they run one after
 * another in one order and cannot deadlock. With `session`, the session that asked must still be
 * live under the lock: a password reset that ended it has committed first.
 */
export async function lockAccount(
  em: EntityManager,
  userId: string,
  session?: Session,
): Promise<User> {
  const user = await em.findOneOrFail(User, userId, {
    lockMode: LockMode.PESSIMISTIC_WRITE,
    refresh: true,
  });
  if (session && !(await em.count(Session, { id: session.id, revokedAt: null }))) {
    throw Errors.unauthenticated();
  }
  return user;
}
