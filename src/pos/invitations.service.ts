import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { GOSUSLUGI_PROVIDER } from '../gosuslugi/gosuslugi.texts.js';
import { secretDigest, SECRET_PATTERN, newSecret } from '../common/secrets.js';
import { AppConfig } from '../config/app-config.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { type User } from '../identity/user.entity.js';
import { MailOutbox } from '../mail/mail.outbox.js';
import { MailTemplates } from '../mail/mail-templates.js';
import { Invitation } from './invitation.entity.js';
import { DeliveryState, Membership, MembershipStatus } from './membership.entity.js';
import { PosErrors } from './pos.texts.js';
import { roleName } from './roles.js';
import { mailTime } from '../mail/mail-time.js';

/** The first invitation and three re-sends an hour, per organisation and address. */
export const INVITATIONS_PER_HOUR = 4;

const DAY_MS = 24 * 3_600_000;

export type InvitationLookup =
  { kind: 'usable'; invitation: Invitation } | { kind: 'used' | 'expired' | 'revoked' | 'unknown' };

/**
 * Locks the membership row for the rest of the caller's transaction: re-send, archive, restore
 * and acceptance of one membership take turns.
 */
export function lockMembership(em: EntityManager, membershipId: string): Promise<Membership> {
  return em.findOneOrFail(
    Membership,
    { id: membershipId },
    { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true, populate: ['organization'] },
  );
}

/** Whether an invitation can still be accepted, and if not, why. */
export function classifyInvitation(invitation: Invitation | null): InvitationLookup {
  if (!invitation) return { kind: 'unknown' };
  if (invitation.acceptedAt) return { kind: 'used' };
  if (invitation.revokedAt) return { kind: 'revoked' };
  if (invitation.expiresAt <= new Date()) return { kind: 'expired' };
  if (invitation.membership.status !== MembershipStatus.Invited) return { kind: 'revoked' };
  return { kind: 'usable', invitation };
}

/**
 * Invitation links: 256 random bits, only the hash stored, single use, short-lived. Each one
 * goes out through the mail outbox in the transaction that created it. Acceptance is
 * InvitationAcceptor's.
 */
@Injectable()
export class Invitations {
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
    private readonly outbox: MailOutbox,
    private readonly templates: MailTemplates,
  ) {}

  /** See the function lockMembership (the members' services call it through here). */
  lockMembership(em: EntityManager, membershipId: string): Promise<Membership> {
    return lockMembership(em, membershipId);
  }

  /**
   * A new invitation for the membership, mailed; inside the caller's transaction, which holds
   * the membership's row lock. Whatever the path (add, re-send, restore, add again after an
   * archive), one address gets at most INVITATIONS_PER_HOUR invitations an hour from one
   * organisation.
   */
  async issue(em: EntityManager, membership: Membership): Promise<Invitation> {
    // The day's cap first, under the organisation's lock until this transaction ends: two
    // invitations at once cannot both take the last one.
    await em.execute('select pg_advisory_xact_lock(hashtextextended(?, 0))', [
      `invitations-per-day\n${membership.organization.id}`,
    ]);
    await this.assertDailyRoom(em, new Map([[membership.organization.id, 1]]));
    const since = new Date(Date.now() - 3_600_000);
    // Per organisation: another organisation's administrator cannot spend this one's quota (and
    // so block its invitations) by inviting and archiving the same address.
    const window = {
      membership: { email: membership.email, organization: membership.organization },
      createdAt: { $gte: since },
    };
    const recent = await em.count(Invitation, window);
    if (recent >= INVITATIONS_PER_HOUR) {
      const oldest = await em.findOneOrFail(Invitation, window, { orderBy: { createdAt: 'asc' } });
      const wait = (oldest.createdAt.getTime() + 3_600_000 - Date.now()) / 1000;
      throw PosErrors.resendLimit(INVITATIONS_PER_HOUR, wait);
    }
    const { secret: token, digest: hash } = newSecret();
    const invitation = em.create(Invitation, {
      membership,
      tokenHash: hash,
      expiresAt: new Date(Date.now() + this.config.invitationTtlMs),
    });
    const organization = membership.organization;
    const mail = this.templates.render('invitation', {
      name: [membership.firstName, membership.middleName].filter(Boolean).join(' '),
      organization: organization.name,
      lkoNumber: String(organization.lkoNumber),
      roles: membership.roles.map(roleName).join(', '),
      link: `${this.config.publicUrl}/pos/invitations/${token}`,
      expires: mailTime(invitation.expiresAt),
    });
    // «письмо в очереди» from the moment it is: the outbox moves it on (sent, retrying, failed).
    membership.deliveryState = DeliveryState.Queued;
    membership.deliveryUpdatedAt = new Date();
    membership.deliveryError = null;
    await this.outbox.enqueue(em, membership.email, mail, {
      membershipId: membership.id,
      invitationId: invitation.id,
    });
    return invitation;
  }

  /**
   * INVITATIONS_PER_ORG_PER_DAY: each organisation of `needed` (id → invitations about to be sent)
   * has room for them within the last 24 hours, or the whole operation is refused (429
   * `invitation_daily_limit`) before anything is written. Bulk operations ask first, for all their
   * rows; `issue` asks again for each one, under the organisation's lock.
   */
  async assertDailyRoom(em: EntityManager, needed: Map<string, number>): Promise<void> {
    const limit = this.config.invitationsPerOrgPerDay;
    const since = new Date(Date.now() - DAY_MS);
    for (const [organizationId, count] of needed) {
      if (count === 0) continue;
      const window = {
        membership: { organization: organizationId },
        createdAt: { $gte: since },
      };
      const used = await em.count(Invitation, window);
      if (used + count <= limit) continue;
      const oldest = await em.findOne(Invitation, window, { orderBy: { createdAt: 'asc' } });
      const wait = oldest
        ? (oldest.createdAt.getTime() + DAY_MS - Date.now()) / 1000
        : DAY_MS / 1000;
      throw PosErrors.dailyInvitationLimit(limit, Math.max(0, limit - used), count, wait);
    }
  }

  /** Ends every live invitation of the membership (re-send, archive). */
  async revokeAll(em: EntityManager, membership: Membership, reason: string): Promise<number> {
    return em.nativeUpdate(
      Invitation,
      { membership, acceptedAt: null, revokedAt: null },
      { revokedAt: new Date(), revokedReason: reason },
    );
  }

  /** Whether the account already has a Госуслуги identity linked (it then joins through it). */
  async hasProviderLink(user: User): Promise<boolean> {
    return (await this.em.count(FederatedIdentity, { user, provider: GOSUSLUGI_PROVIDER })) > 0;
  }

  /** What a token refers to, for the landing page; never reveals more than its state. */
  async lookup(token: string): Promise<InvitationLookup> {
    if (!SECRET_PATTERN.test(token)) return { kind: 'unknown' };
    const invitation = await this.em.findOne(
      Invitation,
      { tokenHash: secretDigest(token) },
      { populate: ['membership', 'membership.organization'] },
    );
    return classifyInvitation(invitation);
  }
}
