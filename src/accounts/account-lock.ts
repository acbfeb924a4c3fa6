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
  // `for no key update`, not `for update`: the id never changes, and the weaker lock lets the
  // share lock that a foreign key takes through. A login holding the password row while it
  // inserts its session must be able to finish; with `for update` the two deadlocked and the
  // reset failed (test/recovery.spec.ts › "does not deadlock with a login in flight…").
  const table = em.getMetadata().get(User).tableName;
  await em.execute(`select 1 from "${table}" where "id" = ? for no key update`, [userId]);
  const user = await em.findOneOrFail(User, userId, { refresh: true });
  if (session && !(await em.count(Session, { id: session.id, revokedAt: null }))) {
    throw Errors.unauthenticated();
  }
  return user;
}
