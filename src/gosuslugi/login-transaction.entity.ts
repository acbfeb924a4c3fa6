import { randomUUID } from 'node:crypto';
import { type Opt } from '@mikro-orm/core';
import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { type VerifiedIdentity } from '../identity/identity-links.service.js';
import { LoginPurpose } from './login-purpose.js';

/**
 * One round trip to Госуслуги: state, nonce and PKCE verifier, what it is for and for whom. Kept
 * server-side, found only through the browser's transaction cookie (stored as a hash), deleted
 * by the callback before anything else happens, and short-lived.
 */
@Entity({ tableName: 'login_transactions' })
@Index({ name: 'login_transactions_expires_idx', properties: ['expiresAt'] })
export class LoginTransaction {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** SHA-256 of the random value in the browser's transaction cookie. */
  @Property({
    type: 'string',
    length: 64,
    unique: 'login_transactions_handle_hash_unique',
    hidden: true,
  })
  handleHash!: string;

  @Property({ type: 'string', length: 64, hidden: true })
  state!: string;

  @Property({ type: 'string', length: 64, hidden: true })
  nonce!: string;

  @Property({ type: 'string', length: 128, hidden: true })
  codeVerifier!: string;

  @Enum({ items: () => LoginPurpose, nativeEnumName: 'login_purpose' })
  purpose!: LoginPurpose;

  /** For linking: the account and the session that asked for it. */
  @Property({ type: 'uuid', nullable: true })
  userId: string | null = null;

  @Property({ type: 'uuid', nullable: true })
  sessionId: string | null = null;

  /** For accepting an invitation: which one (its token stays with the browser, never stored). */
  @Property({ type: 'uuid', nullable: true })
  invitationId: string | null = null;

  /** For a link awaiting confirmation: the identity Госуслуги vouched for. */
  @Property({ type: 'json', nullable: true })
  identity: VerifiedIdentity | null = null;

  /** A local path checked by safeReturnTo() before it was stored. */
  @Property({ type: 'string', length: 512, nullable: true })
  returnTo: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  expiresAt!: Date;
}
