import { randomUUID } from 'node:crypto';
import { type Opt, OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

export enum UserStatus {
  Active = 'active',
  Blocked = 'blocked',
  Archived = 'archived',
}

@Entity({ tableName: 'users' })
export class User {
  // The enum's default: `Opt` on its type would reach the reflected metadata as Object.
  [OptionalProps]?: 'status';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** Stored in lower case; uniqueness is the database's. */
  @Property({ type: 'string', length: 64, unique: 'users_login_unique' })
  login!: string;

  /** Only a verified address lives here (unique across accounts); see pendingEmail. */
  @Property({ type: 'string', length: 254, nullable: true, unique: 'users_email_unique' })
  email: string | null = null;

  /**
   * When `email` became the verified address (a verification link, an accepted invitation, an
   * address Госуслуги vouched for at linking); null with no verified address.
   */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  emailVerifiedAt: Date | null = null;

  /** An address the person typed but has not verified: never trusted, never unique. */
  @Property({ type: 'string', length: 254, nullable: true })
  pendingEmail: string | null = null;

  @Property({ type: 'string', length: 16, nullable: true })
  phone: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  lastName: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  firstName: string | null = null;

  @Property({ type: 'string', length: 100, nullable: true })
  middleName: string | null = null;

  @Enum({ items: () => UserStatus, nativeEnumName: 'user_status' })
  status: UserStatus = UserStatus.Active;

  /** A platform operator creates organisations and their first administrators (command line). */
  @Property({ type: 'boolean' })
  isPlatformOperator: boolean & Opt = false;

  /** Sessions created before this instant are void (set when an account is blocked). */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  sessionsValidAfter: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();

  constructor(login: string) {
    this.login = login;
  }
}

/** What «Личный кабинет» shows of an account (`GET /api/v1/me`). */
export type UserProfile = Readonly<
  Pick<
    User,
    | 'id'
    | 'login'
    | 'email'
    | 'pendingEmail'
    | 'phone'
    | 'lastName'
    | 'firstName'
    | 'middleName'
    | 'status'
  >
>;

/**
 * The ФИО a provider vouched for, written into the account (at a login, a link, an accepted
 * invitation): a name it did not give stays as it was; a middle name it gave as empty is removed.
 */
export function takeProviderNames(
  user: User,
  claims: { lastName?: string; firstName?: string; middleName?: string | null },
): void {
  if (claims.lastName) user.lastName = claims.lastName;
  if (claims.firstName) user.firstName = claims.firstName;
  if (claims.middleName !== undefined) user.middleName = claims.middleName ?? null;
}
