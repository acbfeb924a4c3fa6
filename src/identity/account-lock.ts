import { type EntityManager } from '@mikro-orm/postgresql';
import { User } from './user.entity.js';

/**
 * The account row, fresh and locked for the rest of the transaction. Every change to an account
 * and its links (profile, verification, recovery) takes this lock first, so they run one after
 * another in one order and cannot deadlock. A change a session asked for takes it through
 * lockSessionAccount (src/sessions/session-lock.ts), which also checks the session under the lock.
 */
export async function lockAccount(em: EntityManager, userId: string): Promise<User> {
  const user = await lockAccountWhere(em, 'id', userId);
  if (!user) throw new Error(`account ${userId} not found`);
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
