import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/decorators/legacy';
import { User } from './user.entity.js';
import { LockoutCounters } from './lockout-counters.js';

/** The kinds of second factor kept in this table; passkeys have a table of their own (passkey.entity.ts). */
export type MfaKind = 'totp';

/**
 * A second factor of an account: a TOTP secret (RFC 6238), sealed with the personal data
 * key (never stored in clear). Unconfirmed while enrolment waits for the first code; only a
 * confirmed one is asked for at login. Failed codes count here, apart from the password's
 * counters, so a right password does not clear them (see second-factors.service.ts); while
 * locked, no code is accepted.
 */
@Entity({ tableName: 'mfa_credentials' })
@Unique({ name: 'mfa_credentials_user_kind_unique', properties: ['user', 'kind'] })
export class MfaCredential extends LockoutCounters {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Property({ type: 'string', length: 16 })
  kind: MfaKind & Opt = 'totp';

  /** The base32 secret sealed by PersonalDataKey, bound to this row's id. */
  @Property({ type: 'text', hidden: true })
  sealedSecret!: string;

  /** When the first code confirmed it; null while enrolment is unfinished. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  confirmedAt: Date | null = null;

  /** The newest 30-second step a code was accepted for: that step and older ones are refused. */
  @Property({ type: 'bigint', nullable: true })
  lastUsedStep: number | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  constructor(user: User, sealedSecret: string) {
    super();
    this.user = user;
    this.sealedSecret = sealedSecret;
  }
}
