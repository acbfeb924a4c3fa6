import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { type ClientInfo } from '../common/client-info.js';
import { randomBytes } from 'node:crypto';
import { hashLinkToken, LINK_TOKEN_PATTERN, newLinkToken } from '../common/link-tokens.js';
import { AppConfig } from '../config/app-config.js';
import { FederatedIdentity } from '../identity/federated-identity.entity.js';
import { IdentityLinks, type VerifiedIdentity } from '../identity/identity-links.service.js';
import { User, UserStatus } from '../identity/user.entity.js';
import { MailOutbox } from '../mail/mail.outbox.js';
import { MailTemplates } from '../mail/mail-templates.js';
import { Invitation } from './invitation.entity.js';
import { Membership, MembershipStatus } from './membership.entity.js';
import { PosErrors } from './pos.texts.js';
import { roleName } from './roles.js';
import { mailTime } from '../mail/mail-time.js';

/** The first invitation and three re-sends an hour, per address. */
export const INVITATIONS_PER_HOUR = 4;

export type InvitationLookup =
  { kind: 'usable'; invitation: Invitation } | { kind: 'used' | 'expired' | 'revoked' | 'unknown' };

export type AcceptanceOutcome =
  | { kind: 'accepted'; user: User; membership: Membership }
  | {
      kind: 'refused';
      reason: 'used' | 'expired' | 'revoked' | 'unknown' | 'account_unavailable' | 'already_member';
    };

/**
 * Invitation links: 256 random bits, only the hash stored, single use, short-lived. Each one
 * goes out through the mail outbox in the transaction that created it.
 */
@Injectable()
export class Invitations {
  constructor(
    private readonly em: EntityManager,
    private readonly config: AppConfig,
    private readonly outbox: MailOutbox,
    private readonly templates: MailTemplates,
    private readonly links: IdentityLinks,
    private readonly audit: AuditService,
  ) {}

  /**
   * Locks the membership row for the rest of the caller's transaction: re-send, archive, restore
   * and acceptance of one membership take turns.
   */
  async lockMembership(em: EntityManager, membershipId: string): Promise<Membership> {
    return em.findOneOrFail(
      Membership,
      { id: membershipId },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true, populate: ['organization'] },
    );
  }

  /**
   * A new invitation for the membership, mailed; inside the caller's transaction, which holds
   * the membership's row lock. Whatever the path (add, re-send, restore, add again after an
   * archive), one address gets at most INVITATIONS_PER_HOUR invitations an hour.
   */
  async issue(em: EntityManager, membership: Membership): Promise<Invitation> {
    const since = new Date(Date.now() - 3_600_000);
    const recent = await em.count(Invitation, {
      membership: { email: membership.email },
      createdAt: { $gte: since },
    });
    if (recent >= INVITATIONS_PER_HOUR) throw PosErrors.resendLimit();
    const { token, hash } = newLinkToken();
    const invitation = Object.assign(new Invitation(), {
      membership,
      tokenHash: hash,
      expiresAt: new Date(Date.now() + this.config.invitationTtlMs),
    });
    const organization = membership.organization;
    em.persist(invitation);
    const mail = this.templates.render('invitation', {
      name: [membership.firstName, membership.middleName].filter(Boolean).join(' '),
      organization: organization.name,
      lkoNumber: String(organization.lkoNumber),
      roles: membership.roles.map(roleName).join(', '),
      link: `${this.config.publicUrl}/pos/invitations/${token}`,
      expires: mailTime(invitation.expiresAt),
    });
    membership.deliveryState = null;
    await this.outbox.enqueue(em, membership.email, mail, {
      membershipId: membership.id,
      invitationId: invitation.id,
    });
    return invitation;
  }

  /** Ends every live invitation of the membership (re-send, archive). */
  async revokeAll(em: EntityManager, membership: Membership, reason: string): Promise<number> {
    return em.nativeUpdate(
      Invitation,
      { membership, acceptedAt: null, revokedAt: null },
      { revokedAt: new Date(), revokedReason: reason },
    );
  }

  /** What a token refers to, for the landing page; never reveals more than its state. */
  async lookup(token: string): Promise<InvitationLookup> {
    if (!LINK_TOKEN_PATTERN.test(token)) return { kind: 'unknown' };
    const invitation = await this.em.findOne(
      Invitation,
      { tokenHash: hashLinkToken(token) },
      { populate: ['membership', 'membership.organization'] },
    );
    return this.classify(invitation);
  }

  private classify(invitation: Invitation | null): InvitationLookup {
    if (!invitation) return { kind: 'unknown' };
    if (invitation.acceptedAt) return { kind: 'used' };
    if (invitation.revokedAt) return { kind: 'revoked' };
    if (invitation.expiresAt <= new Date()) return { kind: 'expired' };
    if (invitation.membership.status !== MembershipStatus.Invited) return { kind: 'revoked' };
    return { kind: 'usable', invitation };
  }

  /**
   * Accepts under a row lock, so of two concurrent acceptances one wins. The membership is bound
   * to the account already linked to this Госуслуги identity, or to a new account that has only
   * this identity (no password). Never matched by e-mail.
   */
  async accept(
    invitationId: string,
    identity: VerifiedIdentity,
    client: ClientInfo,
  ): Promise<AcceptanceOutcome> {
    try {
      return await this.em.transactional(async (em) => {
        // Membership row first, then the invitation: the order re-send and archive lock in too.
        const target = await em.findOne(Invitation, { id: invitationId });
        if (!target) return { kind: 'refused', reason: 'unknown' };
        await this.lockMembership(em, target.membership.id);
        const invitation = await em.findOne(
          Invitation,
          { id: invitationId },
          { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
        );
        if (invitation)
          await em.populate(invitation, ['membership', 'membership.organization'], {
            refresh: true,
          });
        const state = this.classify(invitation);
        if (state.kind !== 'usable') return { kind: 'refused', reason: state.kind };
        const membership = state.invitation.membership;
        const linked = await this.links.find(em, identity.issuer, identity.subject);
        let user: User;
        if (linked) {
          user = linked.user;
          if (user.status !== UserStatus.Active)
            return { kind: 'refused', reason: 'account_unavailable' };
        } else {
          user = await this.createFederatedUser(em, identity);
        }
        state.invitation.acceptedAt = new Date();
        membership.user = user;
        membership.status = MembershipStatus.Registered;
        this.audit.record(
          {
            type: 'pos.invitation.accepted',
            actorUserId: user.id,
            targetUserId: user.id,
            organizationId: membership.organization.id,
            client,
            details: { membershipId: membership.id, newAccount: !linked },
          },
          em,
        );
        await em.flush();
        return { kind: 'accepted', user, membership };
      });
    } catch (error) {
      // The account already has a live membership in this organisation.
      if (error instanceof UniqueConstraintViolationException)
        return { kind: 'refused', reason: 'already_member' };
      throw error;
    }
  }

  /** An account whose only way in is this Госуслуги identity. */
  private async createFederatedUser(em: EntityManager, identity: VerifiedIdentity): Promise<User> {
    const base = `gosuslugi.${identity.subject}`.slice(0, 56);
    const taken = await em.count(User, { login: { $like: `${base}%` } });
    const user = new User(taken === 0 ? base : `${base}.${randomBytes(3).toString('hex')}`);
    Object.assign(user, {
      lastName: identity.claims.lastName ?? null,
      firstName: identity.claims.firstName ?? null,
      middleName: identity.claims.middleName ?? null,
    });
    em.persist(user);
    const federated = FederatedIdentity.of(user, identity);
    federated.lastLoginAt = new Date();
    em.persist(federated);
    return user;
  }
}
