import { randomUUID } from 'node:crypto';
import { type Opt, type Rel } from '@mikro-orm/core';
import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { User } from '../identity/user.entity.js';

/**
 * What a WebAuthn challenge was issued for: adding a key in a session (`register`), the second
 * step of a password login (`login`, bound to its LoginChallenge), or re-entering the password in
 * a session (`reauth`).
 */
export type PasskeyPurpose = 'register' | 'login' | 'reauth';

/**
 * A WebAuthn challenge the service issued: single use (deleted in the statement that accepts it),
 * 5 minutes long, and bound to one account, one purpose and one thing it was issued for (a
 * session id or a LoginChallenge id): an assertion signed over it is worth nothing elsewhere.
 */
@Entity({ tableName: 'passkey_challenges' })
@Index({ name: 'passkey_challenges_user_idx', properties: ['user'] })
export class PasskeyChallenge {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** base64url of 32 random bytes. */
  @Property({ type: 'string', length: 64, unique: 'passkey_challenges_challenge_unique' })
  challenge!: string;

  @ManyToOne({ entity: () => User, deleteRule: 'cascade' })
  user!: Rel<User>;

  @Property({ type: 'string', length: 16 })
  purpose!: PasskeyPurpose;

  /** The session (register, reauth) or LoginChallenge (login) id it was issued for. */
  @Property({ type: 'uuid' })
  boundTo!: string;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;
}
