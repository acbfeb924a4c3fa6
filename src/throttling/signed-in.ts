import { type ExecutionContext } from '@nestjs/common';

/**
 * The throttler of requests without a live session: per address and route, THROTTLE_LIMIT per
 * THROTTLE_TTL. (Its name is the throttler's default name, which its counters already carry.)
 */
export const ANONYMOUS = 'default';
/** The throttler of requests that prove a live session: per account, THROTTLE_SIGNED_IN_LIMIT. */
export const SIGNED_IN = 'signed-in';

/**
 * Whose live session a request proves, as the authentication of its route will decide it: the
 * account's id, or null for a public route, no credential, or one that proves nothing (forged,
 * unknown, expired, ended). A port: the sessions feature implements it (`RequestAuthentication`),
 * looking the session up once for the throttler and the auth guard together.
 */
export abstract class RequestAccount {
  abstract of(context: ExecutionContext): Promise<string | null>;
}
