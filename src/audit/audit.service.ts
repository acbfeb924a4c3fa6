import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { type ClientInfo } from '../common/client-info.js';
import { AuditEvent } from './audit-event.entity.js';

export type AuditEventType =
  | 'account.registered'
  | 'login.succeeded'
  | 'login.failed'
  | 'login.locked_out'
  | 'logout'
  | 'session.ended'
  | 'session.others_ended'
  | 'session.all_ended'
  | 'account.blocked'
  | 'account.unblocked'
  | 'account.archived'
  | 'password.changed'
  | 'password.change_failed'
  | 'password.rehashed'
  | 'profile.changed'
  | 'reauthenticated'
  | 'reauthentication.failed'
  | 'gosuslugi.linked'
  | 'gosuslugi.link_refused'
  | 'gosuslugi.unlinked'
  | 'gosuslugi.refreshed'
  | 'gosuslugi.refresh_refused'
  | 'gosuslugi.callback_rejected'
  | 'pos.organization.created'
  | 'pos.organization.updated'
  | 'pos.operator.created'
  | 'pos.member.invited'
  | 'pos.member.import'
  | 'pos.member.import_checked'
  | 'pos.member.roles_changed'
  | 'pos.member.archived'
  | 'pos.member.restored'
  | 'pos.member.sessions_ended'
  | 'pos.invitation.resent'
  | 'pos.invitation.resent_all'
  | 'pos.member.invitee_edited'
  | 'pos.invitation.accepted'
  | 'pos.invitation.refused'
  | 'pos.invitation.mismatch'
  | 'pos.member.email_taken'
  | 'pos.member.sessions_viewed'
  | 'pos.operator.promotion_refused'
  | 'pos.operator.removed'
  | 'account.sessions_ended'
  | 'password.set'
  | 'pos.member.confirmed'
  | 'pos.widget.generated'
  | 'pos.public_status.published'
  | 'pos.public_status.regenerated'
  | 'pos.public_status.revoked'
  | 'pos.widget.check_requested'
  | 'email.verification_sent'
  | 'email.verified'
  | 'email.verification_failed'
  | 'recovery.requested'
  | 'recovery.mail_sent'
  | 'recovery.refused'
  | 'recovery.completed'
  | 'recovery.failed'
  | 'oidc.client.created'
  | 'oidc.backchannel.failed'
  | 'oidc.client.secret_rotated'
  | 'oidc.client.disabled'
  | 'oidc.refresh.reused'
  | 'oidc.consent.granted'
  | 'oidc.consent.revoked'
  | 'mfa.required'
  | 'mfa.totp.enrolled'
  | 'mfa.totp.removed'
  | 'mfa.recovery.used'
  | 'mfa.reset'
  | 'mfa.passkey.enrolled'
  | 'mfa.passkey.removed'
  | 'mfa.failed';

export interface AuditEntry {
  type: AuditEventType;
  actorUserId?: string | null;
  targetUserId?: string | null;
  organizationId?: string | null;
  client?: ClientInfo;
  details?: Record<string, unknown>;
}

@Injectable()
export class AuditService {
  constructor(private readonly em: EntityManager) {}

  /**
   * Queues an event on the given EntityManager so it commits together with the change it
   * describes. Pass the transaction's EntityManager inside `em.transactional()`.
   */
  record(entry: AuditEntry, em: EntityManager = this.em): AuditEvent {
    const event = em.create(AuditEvent, {
      type: entry.type,
      actorUserId: entry.actorUserId ?? null,
      targetUserId: entry.targetUserId ?? null,
      organizationId: entry.organizationId ?? null,
      ip: entry.client?.ip ?? null,
      userAgent: entry.client?.userAgent ?? null,
      requestId: entry.client?.requestId ?? null,
      details: entry.details ?? {},
    });
    return event;
  }

  /**
   * `record` for what a person did to their own account: the one user is actor and target.
   */
  recordOwn(
    userId: string,
    entry: Omit<AuditEntry, 'actorUserId' | 'targetUserId'>,
    em: EntityManager = this.em,
  ): AuditEvent {
    return this.record({ ...entry, actorUserId: userId, targetUserId: userId }, em);
  }

  /** Records and commits an event on its own (for outcomes with no other write, such as a failed login). */
  async write(entry: AuditEntry): Promise<void> {
    const em = this.em.fork();
    this.record(entry, em);
    await em.flush();
  }

  /**
   * A refused attempt: its event committed on its own (a fresh unit of work, so nothing of the
   * refused attempt is flushed with it), then the refusal thrown.
   */
  async refuse(entry: AuditEntry, refusal: unknown): Promise<never> {
    await this.write(entry);
    throw refusal;
  }
}
