import { LockMode } from '@mikro-orm/core';
import { type EntityManager } from '@mikro-orm/postgresql';
import { type DomainError } from '../common/errors.js';
import { secretDigest, SECRET_PATTERN } from '../common/secrets.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { LinkErrors } from './account-links.texts.js';
import { AccountToken, AccountTokenPurpose } from './account-token.entity.js';

/**
 * What keeps a link of each purpose alive besides its own expiry, use and revocation: the account
 * as it is now must still be the one the link was sent for.
 */
const STILL_MEANT: Record<
  AccountTokenPurpose,
  (found: AccountToken, user: User) => DomainError | null
> = {
  // Bound to the exact address: a link for an address the account no longer asks for is dead.
  [AccountTokenPurpose.VerifyEmail]: (found, user) =>
    user.pendingEmail !== found.email ? LinkErrors.superseded() : null,
  // Sent to the verified address of that moment; a changed address ends the link.
  [AccountTokenPurpose.Recovery]: (found, user) =>
    user.email !== found.email || user.status !== UserStatus.Active
      ? LinkErrors.invalid('recovery')
      : null,
};

/**
 * A usable link token of `purpose`, or why it is not usable. With `lock` the token row is locked
 * for the rest of the transaction (lock the account first).
 */
export async function findLinkToken(
  em: EntityManager,
  token: string,
  purpose: AccountTokenPurpose,
  lock: boolean,
): Promise<AccountToken | DomainError> {
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
  return STILL_MEANT[purpose](found, user) ?? found;
}

/** Whose link this was, for the audit log of a refused one. */
export async function ownerOfLinkToken(em: EntityManager, token: string): Promise<string | null> {
  if (!SECRET_PATTERN.test(token)) return null;
  const row = await em.findOne(AccountToken, { tokenHash: secretDigest(token) });
  return row?.user.id ?? null;
}
