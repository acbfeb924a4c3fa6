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
  const user = await lockAccountWhere(em, 'id', userId);
  if (!user) throw new Error(`account ${userId} not found`);
  if (session && !(await em.count(Session, { id: session.id, revokedAt: null }))) {
    throw Errors.unauthenticated();
  }
  return user;
}

/**
 * The same lock, found by a column (`id`, or `login` for the operator's commands); null when no
 * account matches. `for no key update`, not `for update`: the id never changes, and the weaker
 * lock lets through the share lock a foreign key takes. A login or a re-authentication holding
 * the password row or the old session while it inserts its new session must be able to finish;
 * with `for update` the two deadlocked and one failed (test/recovery.spec.ts › "does not deadlock
 * with a login in flight…", test/sessions.spec.ts › "user:block does not deadlock…").
 */
export async function lockAccountWhere(
  em: EntityManager,
  property: 'id' | 'login',
  value: string,
): Promise<User | null> {
  const meta = em.getMetadata().get(User);
  const column = meta.properties[property].fieldNames[0];
  const locked = await em.execute<{ id: string }[]>(
    `select "id" from "${meta.tableName}" where "${column}" = ? for no key update`,
    [value],
  );
  if (locked.length === 0) return null;
  return em.findOneOrFail(User, locked[0].id, { refresh: true });
}
