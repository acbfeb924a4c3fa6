import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { User } from '../identity/user.entity.js';

/**
 * What a login needs after the password: `verify` a code of an enrolled second factor, or
 * `enrol` one first (an operator without it). Not a session: the guard never accepts it.
 */
export type ChallengePurpose = 'verify' | 'enrol';

/**
 * The pending step between a right password and a session, for a second factor. Its random token
 * (hashed here) is held by the browser in an HttpOnly cookie, or returned once by the API;
 * single-use, a few minutes long, ended after a few wrong codes.
 */
@Entity({ tableName: 'login_challenges' })
@Index({ name: 'login_challenges_user_idx', properties: ['user'] })
export class LoginChallenge {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({
    type: 'string',
    length: 64,
    unique: 'login_challenges_token_hash_unique',
    hidden: true,
  })
  tokenHash!: string;

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Property({ type: 'string', length: 16 })
  purpose!: ChallengePurpose;

  @Property({ type: 'integer' })
  failedAttempts: number & Opt = 0;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;

  /** Used up: a session was opened, or too many wrong codes. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  endedAt: Date | null = null;

  @Property({ type: 'string', length: 64, nullable: true })
  ip: string | null = null;
}
