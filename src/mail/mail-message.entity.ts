import { randomUUID } from 'node:crypto';
import { type Opt, OptionalProps } from '@mikro-orm/core';
import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/decorators/legacy';

export enum MailStatus {
  Queued = 'queued',
  /**
   * An attempt was recorded before its SMTP conversation began and has not recorded its outcome
   * yet: it is in flight, or its worker died (see MailOutbox.deliver).
   */
  Sending = 'sending',
  Sent = 'sent',
  Retrying = 'retrying',
  Failed = 'failed',
  /** Not sent: the invitation it carried was replaced, accepted or revoked before delivery. */
  Cancelled = 'cancelled',
}

/**
 * The outbox: every message is written here in the same transaction as the change that causes
 * it, together with its delivery job (pg-boss), and kept with its delivery state.
 */
@Entity({ tableName: 'mail_messages' })
@Index({ name: 'mail_messages_created_idx', properties: ['createdAt'] })
export class MailMessage {
  // The enum's default: `Opt` on its type would reach the reflected metadata as Object.
  [OptionalProps]?: 'status';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'string', length: 254 })
  to!: string;

  @Property({ type: 'string', length: 300 })
  subject!: string;

  /** Bodies may hold single-use links: never logged, visible only in the development mailbox. */
  @Property({ type: 'text', hidden: true })
  text!: string;

  @Property({ type: 'text', hidden: true })
  html!: string;

  @Enum({ items: () => MailStatus, nativeEnumName: 'mail_status' })
  status: MailStatus = MailStatus.Queued;

  @Property({ type: 'integer' })
  attempts: number & Opt = 0;

  @Property({ type: 'string', length: 300, nullable: true })
  lastError: string | null = null;

  /** The ПОС account this message is about, whose delivery state mirrors it. */
  @Property({ type: 'uuid', nullable: true })
  membershipId: string | null = null;

  /** The invitation whose link this message carries: a dead link is not sent. */
  @Property({ type: 'uuid', nullable: true })
  invitationId: string | null = null;

  @Property({ type: 'datetime', columnType: 'timestamptz' })
  createdAt: Date & Opt = new Date();

  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  sentAt: Date | null = null;

  /** When the newest attempt began, written before its SMTP conversation. */
  @Property({ type: 'datetime', columnType: 'timestamptz', nullable: true })
  attemptStartedAt: Date | null = null;
}
