import { LockMode } from '@mikro-orm/core';
import { type EntityManager } from '@mikro-orm/postgresql';
import { type DomainError } from '../common/errors.js';
import { secretDigest, SECRET_PATTERN } from '../common/secrets.js';
import { User } from '../identity/user.entity.js';
import { LinkErrors } from './account-links.texts.js';
import { AccountToken, AccountTokenPurpose } from './account-token.entity.js';

/**
 * A usable link token of `purpose` with its account as it is now, or why it is not usable. With
 * `lock` the token row is locked for the rest of the transaction (lock the account first).
 */
export async function findLinkToken(
  em: EntityManager,
  token: string,
  purpose: AccountTokenPurpose,
  lock: boolean,
): Promise<{ found: AccountToken; user: User } | DomainError> {
  const what = purpose === AccountTokenPurpose.VerifyEmail ? 'verify' : 'recovery';
  if (!SECRET_PATTERN.test(token)) return LinkErrors.invalid(what);
  const found = await em.findOne(
    AccountToken,
    { tokenHash: secretDigest(token), purpose },
    lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {},
  );
  if (!found) return LinkErrors.invalid(what);
  const user = await em.findOneOrFail(User, found.user.id, { refresh: true });
  if (found.usedAt) return LinkErrors.used();
  if (found.revokedAt) return LinkErrors.superseded();
  if (found.expiresAt <= new Date()) return LinkErrors.expired(what);
  return { found, user };
}

/** Whose link this was, for the audit log of a refused one. */
export async function ownerOfLinkToken(em: EntityManager, token: string): Promise<string | null> {
  if (!SECRET_PATTERN.test(token)) return null;
  const row = await em.findOne(AccountToken, { tokenHash: secretDigest(token) });
  return row?.user.id ?? null;
}
