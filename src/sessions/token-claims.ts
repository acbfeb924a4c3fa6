import { type User } from '../identity/user.entity.js';

/**
 * Extra claims other features put into access tokens (the ПОС memberships), without the
 * sessions feature depending on them.
 */
export interface AccessTokenClaimsSource {
  claimsFor(user: User): Promise<Record<string, unknown>>;
  /**
   * The same claims as one SQL expression of `userIdSql`, itself SQL (a column such as `u."id"`, or
   * a placeholder; never a value pasted in), so that a
   * statement which reads the user anyway (the password login's lookup) brings them along and a
   * login makes one round trip fewer; `claimsOf` reads its value.
   */
  claimsSql(userIdSql: string): string;
  claimsOf(cell: unknown): Record<string, unknown>;
}

export const ACCESS_TOKEN_CLAIMS = Symbol('ACCESS_TOKEN_CLAIMS');
