import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, OneToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { User } from './user.entity.js';

@Entity({ tableName: 'password_credentials' })
export class PasswordCredential {
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

  /** Consecutive failures inside the reset window (brute-force protection). */
  @Property({ type: 'integer' })
  failureCount: number & Opt = 0;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lastFailureAt: Date | null = null;

  /** No login is accepted before this instant. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  lockedUntil: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  changedAt: Date & Opt = new Date();

  constructor(user: User, hash: string) {
    this.user = user;
    this.hash = hash;
  }
}
