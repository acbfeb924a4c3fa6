import { randomUUID } from 'node:crypto';
import { type Opt, OptionalProps, type Rel } from '@mikro-orm/core';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';
import { User } from '../identity/user.entity.js';
import { Organization } from './organization.entity.js';
import { type PosRole } from './roles.js';

export enum MembershipStatus {
  /** «Приглашен»: the invitation is out. */
  Invited = 'invited',
  /** «Зарегистрирован»: accepted through Госуслуги, first-login confirmations pending. */
  Registered = 'registered',
  /** «Подтвержден»: both confirmations given. */
  Confirmed = 'confirmed',
  /** «В архиве». */
  Archived = 'archived',
}

/** The statuses of a live membership: accepted, and not archived. */
export const LIVE_STATUSES: readonly MembershipStatus[] = [
  MembershipStatus.Registered,
  MembershipStatus.Confirmed,
];

export enum DeliveryState {
  Queued = 'queued',
  Sent = 'sent',
  Retrying = 'retrying',
  Failed = 'failed',
}

/**
 * An account in an organisation (учетная запись в ЛКО). The e-mail is unique among live
 * accounts — a partial unique index in the database (see the migration).
 */
@Entity({ tableName: 'pos_memberships' })
@Index({ name: 'pos_memberships_organization_idx', properties: ['organization', 'status'] })
@Index({ name: 'pos_memberships_user_idx', properties: ['user'] })
export class Membership {
  // The enum's default: `Opt` on its type would reach the reflected metadata as Object.
  [OptionalProps]?: 'status';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne({ entity: () => Organization, deleteRule: 'restrict' })
  organization!: Rel<Organization>;

  @Property({ type: 'string', length: 254 })
  email!: string;

  @Property({ type: 'string', length: 100 })
  lastName!: string;

  @Property({ type: 'string', length: 100 })
  firstName!: string;

  @Property({ type: 'string', length: 100, nullable: true })
  middleName: string | null = null;

  @Property({ type: 'string', length: 200, nullable: true })
  position: string | null = null;

  /** The invitee's SNILS as an HMAC under PERSONAL_DATA_KEY (matched at acceptance), never the number. */
  @Property({ type: 'string', length: 64, nullable: true, hidden: true })
  snilsDigest: string | null = null;

  /** The last three digits of that SNILS, all the administrator's list shows of it. */
  @Property({ type: 'string', length: 3, nullable: true })
  snilsLast3: string | null = null;

  /** The ФИО Госуслуги gave when the invitation was accepted. */
  @Property({ type: 'string', length: 310, nullable: true })
  acceptedName: string | null = null;

  /** The last time someone tried to accept the invitation with another Госуслуги profile. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  mismatchAt: Date | null = null;

  @Property({ type: 'text[]', columnType: 'text[]' })
  roles!: PosRole[];

  @Enum({ items: () => MembershipStatus, nativeEnumName: 'pos_membership_status' })
  status: MembershipStatus = MembershipStatus.Invited;

  /** Bound when the invitation is accepted through Госуслуги. */
  @ManyToOne({ entity: () => User, nullable: true, deleteRule: 'restrict' })
  user: Rel<User> | null = null;

  /** «Мною пройдено обучение». */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  trainingConfirmedAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  confirmedAt: Date | null = null;

  @Property({ type: 'uuid', nullable: true })
  invitedBy: string | null = null;

  @Enum({ items: () => DeliveryState, nativeEnumName: 'pos_delivery_state', nullable: true })
  deliveryState: DeliveryState | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  deliveryUpdatedAt: Date | null = null;

  @Property({ type: 'string', length: 300, nullable: true })
  deliveryError: string | null = null;

  /** The status the account had before it was archived (restored to it). */
  @Enum({ items: () => MembershipStatus, nativeEnumName: 'pos_membership_status', nullable: true })
  statusBeforeArchive: MembershipStatus | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  archivedAt: Date | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date & Opt = new Date();
}
