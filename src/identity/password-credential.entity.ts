import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, OneToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { User } from './user.entity.js';
import { LockoutCounters } from './lockout-counters.js';

/**
 * An account's password (argon2id). Its counters hold the failures of every address together;
 * the hard lock of one address is `LoginFailure`'s.
 */
@Entity({ tableName: 'password_credentials' })
export class PasswordCredential extends LockoutCounters {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @OneToOne({
    entity: () => User,
    owner: true,
    unique: 'password_credentials_user_unique',
    deleteRule: 'cascade',
  })
  user!: Rel<User>;

  /** An argon2id PHC string; never leaves the process. */
  @Property({ type: 'text', hidden: true })
  hash!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  changedAt: Date & Opt = new Date();

  constructor(user: User, hash: string) {
    super();
    this.user = user;
    this.hash = hash;
  }
}
