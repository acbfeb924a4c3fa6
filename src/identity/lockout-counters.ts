import { type Opt } from '@mikro-orm/core';
import { Property } from '@mikro-orm/decorators/legacy';

/**
 * The failure counters of a secret that locks after repeated wrong guesses: a password, a
 * password tried from one address, a TOTP secret. Each table that extends this has the columns
 * `failure_count`, `last_failure_at` and `locked_until`; `sessions/lockout.ts` computes them.
 */
export abstract class LockoutCounters {
  /** Consecutive failures inside the reset window. */
  @Property({ type: 'integer' })
  failureCount: number & Opt = 0;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastFailureAt: Date | null = null;

  /** No attempt is accepted before this instant. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lockedUntil: Date | null = null;
}
