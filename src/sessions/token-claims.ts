import { type User } from '../identity/user.entity.js';

/**
 * Extra claims other features put into access tokens (the ПОС memberships), without the
 * sessions feature depending on them.
 */
export interface AccessTokenClaimsSource {
  claimsFor(user: User): Promise<Record<string, unknown>>;
}

export const ACCESS_TOKEN_CLAIMS = Symbol('ACCESS_TOKEN_CLAIMS');
